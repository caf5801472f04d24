"""`fastfn serve module:app --http`: the app on `PORT` (default 8000) behind a load balancer.

uvicorn serves it (a well-kept production server; on a VM responses may stream, so the
buffered cycle of the serverless platforms is not used here). On SIGTERM:
1. readiness (`FASTFN_HEALTH_PATH`, default `/health`) answers 503 at once;
2. for `FASTFN_DRAIN_DELAY` seconds (default 5) requests are still served, so the load
   balancer's health check sees the 503 before any connection is refused;
3. the server stops accepting; requests in flight get up to `FASTFN_DRAIN_TIMEOUT`
   seconds (default 120, seed 002's BACKEND_DRAIN_TIMEOUT_SECONDS) to finish;
4. lifespan shutdown, exit 0. A second SIGTERM or SIGINT skips the rest of the delay.
"""

from __future__ import annotations

import logging
import os
import time
from types import FrameType
from typing import Any

import uvicorn

from fastfn.runtime.http.readiness import Readiness, ServedApp

log = logging.getLogger("fastfn.http")

DEFAULT_PORT = 8000


class HttpSettings:
    __slots__ = ("drain_delay_s", "drain_timeout_s", "health_path", "host", "port")

    def __init__(self, host: str = "0.0.0.0", port: int = DEFAULT_PORT,
                 health_path: str = "/health", drain_delay_s: float = 5.0,
                 drain_timeout_s: float = 120.0) -> None:
        self.host = host
        self.port = port
        self.health_path = health_path
        self.drain_delay_s = drain_delay_s
        self.drain_timeout_s = drain_timeout_s

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> HttpSettings:
        env = dict(os.environ) if env is None else env

        def number(key: str, default: float, kind: type = float) -> Any:
            raw = env.get(key, "")
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {raw!r}") from None
            if value < 0:
                raise ValueError(f"{key} must not be negative, got {raw!r}")
            return value

        port = number("PORT", DEFAULT_PORT, int)
        if not 0 < port < 65536:
            raise ValueError(f"PORT must be 1-65535, got {port}")
        return cls(host=env.get("HOST", "0.0.0.0"), port=port,
                   health_path=env.get("FASTFN_HEALTH_PATH", "/health"),
                   drain_delay_s=number("FASTFN_DRAIN_DELAY", 5.0),
                   drain_timeout_s=number("FASTFN_DRAIN_TIMEOUT", 120.0))


class DrainingServer(uvicorn.Server):
    """uvicorn, with readiness turned to 503 for a delay before it stops accepting."""

    def __init__(self, config: uvicorn.Config, readiness: Readiness,
                 drain_delay_s: float) -> None:
        super().__init__(config)
        self.readiness = readiness
        self.drain_delay_s = drain_delay_s

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not recorded in _captured_signals: uvicorn would re-raise it after shutdown and
        # the process would die of SIGTERM instead of exiting 0.
        if self.readiness.draining:
            self.should_exit = True
            return
        log.info("SIGTERM: readiness is 503; draining",
                 extra={"drain_delay_s": self.drain_delay_s})
        self.readiness.start_draining()

    async def on_tick(self, counter: int) -> bool:
        if await super().on_tick(counter):
            return True
        started = self.readiness.drain_started
        return started is not None and time.monotonic() - started >= self.drain_delay_s


def serve_http(app: Any, settings: HttpSettings, service: str = "") -> int:
    readiness = Readiness()
    served = ServedApp(app, readiness, settings.health_path, service)
    config = uvicorn.Config(
        served, host=settings.host, port=settings.port, lifespan="auto",
        log_config=None,  # our JSON handler on the root logger formats uvicorn's lines
        access_log=False,  # ServedApp writes the access line, with the request id
        timeout_graceful_shutdown=int(settings.drain_timeout_s),
        server_header=False,
    )
    server = DrainingServer(config, readiness, settings.drain_delay_s)
    server.run()
    if server.started:
        log.info("stopped")
        return 0
    return 3

