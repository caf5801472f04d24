"""One execution environment's runtime: ONE event loop and ONE AppHost for its whole life.

The app's lifespan startup runs when the runtime is built, which is while Lambda imports
the handler module: that is the environment's init phase, outside every invoke's time and
reported as an init error when it fails. It never runs per invoke.

Shutdown, as far as Lambda guarantees it: the runtime gets SIGTERM and a shutdown phase
only when at least one extension is registered (500 ms with internal extensions, 2,000 ms
with external ones); without an extension the environment is frozen and discarded with no
signal, and lifespan shutdown does not run. So a SIGTERM handler runs lifespan shutdown
(when no invoke is in flight) and exits; apps must not depend on shutdown for correctness.
After a timeout or a crash Lambda resets the environment and init runs again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastfn.runtime.app import event_loop_factory
from fastfn.runtime.asgi.cycle import FAILED, Failure, Response
from fastfn.runtime.asgi.host import AppHost
from fastfn.runtime.aws.events import alb, apigw_v1, direct, eventbridge, http_v2, posted, s3
from fastfn.runtime.aws.events import sqs as sqs_events
from fastfn.runtime.aws.events.common import EventError, HttpCall
from fastfn.runtime.context import (
    TRIGGER_EVENT,
    TRIGGER_HTTP,
    TRIGGER_INVOKE,
    LambdaContext,
)
from fastfn.runtime.failure import CallFailed
from fastfn.runtime.routes import RouteConfig

log = logging.getLogger("fastfn.lambda")

# Lambda's synchronous response limit.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


class InvokeFailed(Exception):
    """The call failed (timeout, crash, incomplete or too large response, or an app error
    status where the source must retry): raised so Lambda reports the invoke as
    `Unhandled` and asynchronous sources retry."""


def _raise_for(failure: Failure) -> None:
    if failure.kind == FAILED:
        raise CallFailed(failure.message)
    raise InvokeFailed(f"{failure.kind}: {failure.message}")


def _context(context: Any, trigger: str, source: str) -> LambdaContext:
    deadline = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is not None:
        deadline = datetime.now(UTC) + timedelta(milliseconds=remaining())
    memory = str(getattr(context, "memory_limit_in_mb", "") or "")
    return LambdaContext(
        request_id=str(getattr(context, "aws_request_id", "") or ""),
        deadline=deadline, trigger=trigger, event_source=source,
        function_arn=str(getattr(context, "invoked_function_arn", "") or ""),
        function_name=str(getattr(context, "function_name", "") or ""),
        function_version=str(getattr(context, "function_version", "") or ""),
        memory_mb=int(memory) if memory.isdigit() else None,
        log_group_name=str(getattr(context, "log_group_name", "") or ""),
        log_stream_name=str(getattr(context, "log_stream_name", "") or ""),
    )


class LambdaRuntime:
    """`runtime(event, context)` is the Lambda handler."""

    def __init__(self, app: Any, config: RouteConfig | None = None,
                 max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        # asyncio's loop unless FASTFN_LOOP=uvloop: Lambda drives the loop with one
        # run_until_complete per invoke, and uvloop sets up its signal wakeup (a new
        # socketpair) on every run, ~90 us an invoke; asyncio's self-pipe is made once.
        factory = event_loop_factory() if os.environ.get("FASTFN_LOOP") == "uvloop" else None
        self.loop: asyncio.AbstractEventLoop = (factory or asyncio.new_event_loop)()
        self.host = AppHost(app)
        self.config = config or RouteConfig.from_env()
        self.max_response_bytes = max_response_bytes
        self.loop.run_until_complete(self.host.start())

    def __call__(self, event: Any, context: Any) -> Any:
        return self.loop.run_until_complete(self.handle(event, context))

    def stop(self) -> None:
        """Lifespan shutdown; only when no invoke is running on the loop."""
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.run_until_complete(self.host.stop())
            self.loop.close()

    async def _call(self, call: HttpCall, ctx: LambdaContext) -> Response | Failure:
        # In the task run_until_complete made for this invoke, which only we own: the
        # cycle may cancel it at the deadline (and takes the cancellation back itself).
        return await self.host.http(call.scope, call.body, ctx, self.max_response_bytes)

    async def handle(self, event: Any, context: Any) -> Any:
        for module in (http_v2, apigw_v1, alb):
            if module.matches(event):
                source = (http_v2.source(event) if module is http_v2
                          else module.SOURCE)  # type: ignore[attr-defined]
                call = module.request(event, self.config)  # type: ignore[attr-defined]
                outcome = await self._call(call, _context(context, TRIGGER_HTTP, source))
                if isinstance(outcome, Failure):
                    _raise_for(outcome)
                return module.result(outcome, event)  # type: ignore[attr-defined,arg-type]
        if sqs_events.matches(event):
            return await self._sqs(event, context)
        for module, what in ((s3, "an S3 event"), (eventbridge, "an EventBridge event")):
            if module.matches(event):
                return await self._event(event, context, module.SOURCE, what)
        return await self._direct(event, context)

    async def _event(self, event: Any, context: Any, source: str, what: str) -> Any:
        call = posted.call(self.config, event, is_event=True, source=source, what=what)
        outcome = await self._call(call, _context(context, TRIGGER_EVENT, source))
        if isinstance(outcome, Failure):
            _raise_for(outcome)
        assert isinstance(outcome, Response)
        if outcome.status >= 500:
            # The app could not take the event: fail the invoke so the source retries.
            raise InvokeFailed(f"the app answered {outcome.status} to {what}")
        return posted.answer(outcome)

    async def _sqs(self, event: dict, context: Any) -> dict:
        failed: list[str] = []
        for record in sqs_events.records(event):
            message_id = str(record.get("messageId") or "")
            call = posted.call(self.config, record, is_event=True,
                               source=sqs_events.SOURCE, what="an SQS message")
            outcome = await self._call(call, _context(context, TRIGGER_EVENT,
                                                      sqs_events.SOURCE))
            if isinstance(outcome, Failure) or outcome.status >= 500:
                failed.append(message_id)
        if failed:
            log.warning("%d of %d SQS messages failed", len(failed), len(event["Records"]))
        return sqs_events.batch_result(failed)

    async def _direct(self, event: Any, context: Any) -> Any:
        call = posted.call(self.config, event, is_event=False, source=direct.SOURCE,
                           what="a direct invoke")
        outcome = await self._call(call, _context(context, TRIGGER_INVOKE, direct.SOURCE))
        if isinstance(outcome, Failure):
            _raise_for(outcome)
        assert isinstance(outcome, Response)
        if outcome.status >= 400:
            # An error status is not a result: the caller must see a FunctionError.
            raise InvokeFailed(f"the app answered {outcome.status} to a direct invoke")
        return posted.answer(outcome)


def install_sigterm(runtime: LambdaRuntime) -> None:
    """Run lifespan shutdown on SIGTERM (sent only when an extension is registered)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        return

    def on_sigterm(signum: int, frame: object) -> None:
        try:
            runtime.stop()
        except Exception:
            log.exception("lifespan shutdown failed")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)


__all__ = ["EventError", "InvokeFailed", "LambdaRuntime", "install_sigterm"]
