"""The call context, available to the app while it handles a call, on every platform.

Two equivalent ways to read it:
- `fastfn.runtime.context.current()` from any code running inside the call
  (sync endpoints included: Starlette copies context variables into its thread pool);
- `request.scope["fastfn.context"]` from a Starlette/FastAPI request.

`CallContext` holds what every platform has (a call id, a deadline, what triggered the
call, the function's name and memory). Each platform adds its own facts in a subclass:
`FnContext` (OCI Functions: application and function ids), and so on. Code that only
needs the common fields works unchanged on every target.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime

SCOPE_KEY = "fastfn.context"

# What made the call happen, in words every platform shares.
TRIGGER_HTTP = "http"  # a client's HTTP request (API gateway, function URL, load balancer)
TRIGGER_EVENT = "event"  # an event source (OCI Events, S3, SQS, EventBridge...)
TRIGGER_INVOKE = "invoke"  # a direct invoke with a body and no method or path


class CallContext:
    """One call's facts. Read-only by convention.

    Plain slotted classes rather than dataclasses: they are defined on every cold start
    and built on every call, and a dataclass costs about a millisecond to define.
    """

    __slots__ = ("call_id", "deadline", "function_id", "function_name", "invoke_type",
                 "memory_mb", "platform", "request_id", "trigger")

    def __init__(self, *, platform: str, call_id: str, deadline: datetime | None,
                 trigger: str, invoke_type: str = "", request_id: str = "",
                 function_id: str = "", function_name: str = "",
                 memory_mb: int | None = None) -> None:
        self.platform = platform  # "oci-fn", "aws-lambda", "http"
        self.call_id = call_id
        self.deadline = deadline  # timezone-aware; None when the platform gives none
        self.trigger = trigger  # TRIGGER_HTTP, TRIGGER_EVENT or TRIGGER_INVOKE
        self.invoke_type = invoke_type  # "sync" or "detached"/"async"; "" when unknown
        self.request_id = request_id
        self.function_id = function_id
        self.function_name = function_name
        self.memory_mb = memory_mb

    @property
    def is_gateway_call(self) -> bool:
        """True when the call carries a client's HTTP request."""
        return self.trigger == TRIGGER_HTTP

    def remaining_seconds(self, now: datetime | None = None) -> float | None:
        if self.deadline is None:
            return None
        now = now or datetime.now(self.deadline.tzinfo)
        return (self.deadline - now).total_seconds()

    def _fields(self) -> list[str]:
        names: list[str] = []
        for cls in reversed(type(self).__mro__):
            names.extend(getattr(cls, "__slots__", ()))
        return names

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__name__}({fields})"


class FnContext(CallContext):
    """A call under the Fn contract (OCI Functions)."""

    __slots__ = ("app_id", "app_name", "intent")

    def __init__(self, *, call_id: str, deadline: datetime | None, intent: str,
                 invoke_type: str, request_id: str, app_id: str, fn_id: str, app_name: str,
                 fn_name: str, memory_mb: int | None, is_gateway_call: bool) -> None:
        trigger = (TRIGGER_HTTP if is_gateway_call
                   else TRIGGER_EVENT if intent == "cloudevent" else TRIGGER_INVOKE)
        super().__init__(platform="oci-fn", call_id=call_id, deadline=deadline,
                         trigger=trigger, invoke_type=invoke_type, request_id=request_id,
                         function_id=fn_id, function_name=fn_name, memory_mb=memory_mb)
        self.intent = intent  # "httprequest" or "cloudevent" (Fn-Intent); "" when absent
        self.app_id = app_id
        self.app_name = app_name

    @property
    def fn_id(self) -> str:
        return self.function_id

    @property
    def fn_name(self) -> str:
        return self.function_name


class LambdaContext(CallContext):
    """A call on AWS Lambda (an invoke through the Runtime API)."""

    __slots__ = ("event_source", "function_version", "log_group_name", "log_stream_name")

    def __init__(self, *, request_id: str, deadline: datetime | None, trigger: str,
                 event_source: str, function_arn: str = "", function_name: str = "",
                 function_version: str = "", memory_mb: int | None = None,
                 log_group_name: str = "", log_stream_name: str = "",
                 invoke_type: str = "") -> None:
        super().__init__(platform="aws-lambda", call_id=request_id, deadline=deadline,
                         trigger=trigger, invoke_type=invoke_type, request_id=request_id,
                         function_id=function_arn, function_name=function_name,
                         memory_mb=memory_mb)
        # "aws:apigateway", "aws:lambda-url", "aws:elb", "aws:s3", "aws:sqs",
        # "aws:events" or "direct": which source's event this call came from.
        self.event_source = event_source
        self.function_version = function_version
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name

    @property
    def function_arn(self) -> str:
        return self.function_id


_current: ContextVar[CallContext | None] = ContextVar("fastfn_context", default=None)


def current() -> CallContext | None:
    """The context of the call being handled, or None outside a call."""
    return _current.get()


def _set(ctx: CallContext | None) -> object:
    return _current.set(ctx)
