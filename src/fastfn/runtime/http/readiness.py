"""What fastfn adds around the app on a VM: the call context, the JSON access line, and
readiness that turns 503 the moment the server starts draining.

A load balancer sends health checks to the same port as traffic. Once SIGTERM arrives the
instance is going away, so its health path answers 503 at once (the app's own health
handler is no longer asked) while other requests are still served until the server stops
accepting: the load balancer takes the backend out of rotation before connections are
refused.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastfn.runtime import logs
from fastfn.runtime.context import SCOPE_KEY, TRIGGER_HTTP, CallContext, _current

_DRAINING_BODY = b'{"status": "draining"}'


class HttpContext(CallContext):
    """A request served on a VM: no platform deadline; the client's address."""

    __slots__ = ("client",)

    def __init__(self, *, call_id: str, client: str, function_name: str) -> None:
        super().__init__(platform="http", call_id=call_id, deadline=None,
                         trigger=TRIGGER_HTTP, request_id=call_id,
                         function_name=function_name)
        self.client = client


class Readiness:
    def __init__(self) -> None:
        self.draining = False
        self.drain_started: float | None = None

    def start_draining(self) -> None:
        if not self.draining:
            self.draining = True
            self.drain_started = time.monotonic()


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id" and 0 < len(value) <= 200:
            return value.decode("latin-1")
    return uuid.uuid4().hex


class ServedApp:
    """The ASGI app uvicorn runs: the user's app inside fastfn's per-request wrapper."""

    def __init__(self, app: Any, readiness: Readiness, health_path: str = "/health",
                 service: str = "") -> None:
        self.app = app
        self.readiness = readiness
        self.health_path = health_path
        self.service = service

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan and websockets as they are
            return
        if self.readiness.draining and scope["path"] == self.health_path:
            await _answer_draining(send)
            return
        client = scope.get("client")
        ctx = HttpContext(call_id=_request_id(scope["headers"]),
                          client=f"{client[0]}:{client[1]}" if client else "",
                          function_name=self.service)
        scope[SCOPE_KEY] = ctx
        token = _current.set(ctx)
        started = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            _current.reset(token)
            logs.access(ctx.call_id, scope["method"], scope["path"], status,
                        (time.perf_counter() - started) * 1000)


async def _answer_draining(send: Any) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_DRAINING_BODY)).encode()),
        (b"retry-after", b"5"),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": _DRAINING_BODY})
