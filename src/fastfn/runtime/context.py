"""The Fn call context, available to the app while it handles a call.

Two equivalent ways to read it:
- `fastfn.runtime.context.current()` from any code running inside the call
  (sync endpoints included: Starlette copies context variables into its thread pool);
- `request.scope["fastfn.context"]` from a Starlette/FastAPI request.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

SCOPE_KEY = "fastfn.context"


@dataclass(frozen=True, slots=True)
class FnContext:
    call_id: str
    deadline: datetime | None  # Fn-Deadline, timezone-aware
    intent: str  # "httprequest" or "cloudevent" (Fn-Intent); "" when absent
    invoke_type: str  # "sync" or "detached" (Fn-Invoke-Type); "" when absent
    request_id: str  # Opc-Request-Id on OCI; "" elsewhere
    app_id: str
    fn_id: str
    app_name: str
    fn_name: str
    memory_mb: int | None
    is_gateway_call: bool  # True when the call came through an API gateway (Fn-Http-Method set)

    def remaining_seconds(self, now: datetime | None = None) -> float | None:
        if self.deadline is None:
            return None
        now = now or datetime.now(self.deadline.tzinfo)
        return (self.deadline - now).total_seconds()


_current: ContextVar[FnContext | None] = ContextVar("fastfn_context", default=None)


def current() -> FnContext | None:
    """The context of the call being handled, or None outside a call."""
    return _current.get()


def _set(ctx: FnContext | None) -> object:
    return _current.set(ctx)
