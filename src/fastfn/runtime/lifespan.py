"""ASGI lifespan: startup once per container before the first call, shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("fastfn.lifespan")


class LifespanError(RuntimeError):
    pass


class Lifespan:
    def __init__(self, app: Any) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict] = asyncio.Queue()
        self._startup_done = asyncio.Event()
        self._shutdown_done = asyncio.Event()
        self._failure: str | None = None
        self._task: asyncio.Task | None = None
        self.supported = True
        self.state: dict[str, Any] = {}

    async def _receive(self) -> dict:
        return await self._inbox.get()

    async def _send(self, message: dict) -> None:
        kind = message["type"]
        if kind in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
            self._failure = message.get("message") or kind
        if kind.startswith("lifespan.startup."):
            self._startup_done.set()
        elif kind.startswith("lifespan.shutdown."):
            self._shutdown_done.set()

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self._app(scope, self._receive, self._send)
        except BaseException as exc:
            if not self._startup_done.is_set():
                # An app that raises before answering startup does not speak lifespan
                # (plain ASGI apps may assert on the scope type): run without it.
                self.supported = False
                log.info("app does not support lifespan (%s); continuing without it",
                         type(exc).__name__)
            elif self._failure is None:
                self._failure = f"{type(exc).__name__}: {exc}"
                log.exception("lifespan task failed")
        finally:
            self._startup_done.set()
            self._shutdown_done.set()

    async def startup(self) -> dict[str, Any]:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        await self._startup_done.wait()
        if self._failure is not None:
            raise LifespanError(f"lifespan startup failed: {self._failure}")
        return self.state

    async def shutdown(self) -> None:
        if self._task is None or not self.supported or self._task.done():
            return
        self._failure = None
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._shutdown_done.wait()
        if self._failure is not None:
            log.error("lifespan shutdown failed: %s", self._failure)
