"""The app as a container or execution environment holds it: imported once, its lifespan
started once before the first call and shut down once at the end, its lifespan state
handed to every call. Lambda, Fn and VM servers all keep one `AppHost` for their life
(never a lifespan per call: that kills connection pools)."""

from __future__ import annotations

from typing import Any

from fastfn.runtime.asgi.cycle import Failure, Response, run_http
from fastfn.runtime.context import CallContext
from fastfn.runtime.lifespan import Lifespan


class AppHost:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._lifespan = Lifespan(app)
        self.started = False

    async def start(self) -> None:
        """Lifespan startup; raises LifespanError when the app reports a failure."""
        self.state = await self._lifespan.startup()
        self.started = True

    async def stop(self) -> None:
        await self._lifespan.shutdown()

    async def http(self, scope: dict, body: bytes, ctx: CallContext,
                   max_response_bytes: int | None = None) -> Response | Failure:
        return await run_http(self.app, scope, body, ctx, self.state, max_response_bytes)
