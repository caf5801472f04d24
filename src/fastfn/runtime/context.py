"""The Fn call context, available to the app while it handles a call.

Two equivalent ways to read it:
- `fastfn.runtime.context.current()` from any code running inside the call
  (sync endpoints included: Starlette copies context variables into its thread pool);
- `request.scope["fastfn.context"]` from a Starlette/FastAPI request.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime

SCOPE_KEY = "fastfn.context"


class FnContext:
    """One call's facts. Read-only by convention.

    A plain slotted class rather than a dataclass: it is defined on every cold start and
    built on every call, and a dataclass costs about a millisecond to define.
    """

    __slots__ = ("app_id", "app_name", "call_id", "deadline", "fn_id", "fn_name", "intent",
                 "invoke_type", "is_gateway_call", "memory_mb", "request_id")

    def __init__(self, *, call_id: str, deadline: datetime | None, intent: str,
                 invoke_type: str, request_id: str, app_id: str, fn_id: str, app_name: str,
                 fn_name: str, memory_mb: int | None, is_gateway_call: bool) -> None:
        self.call_id = call_id
        self.deadline = deadline  # Fn-Deadline, timezone-aware
        self.intent = intent  # "httprequest" or "cloudevent" (Fn-Intent); "" when absent
        self.invoke_type = invoke_type  # "sync" or "detached" (Fn-Invoke-Type); "" if absent
        self.request_id = request_id  # Opc-Request-Id on OCI; "" elsewhere
        self.app_id = app_id
        self.fn_id = fn_id
        self.app_name = app_name
        self.fn_name = fn_name
        self.memory_mb = memory_mb
        # True when the call came through an API gateway (Fn-Http-Method set).
        self.is_gateway_call = is_gateway_call

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"FnContext({fields})"

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
