"""One buffered ASGI HTTP call: the app runs to completion, or fails in a known way.

Every platform fastfn serves on answers a call as a whole (Fn's outer response, a Lambda
result, and on VMs a response whose size must be known to pick framing), so the response
is buffered here. The platform gets a `Response` or a `Failure` and only encodes it:

| what happened | Failure.kind | Fn outer status |
|---|---|---|
| the deadline passed (before or during the call) | timeout | 504 |
| the app raised `CallFailed` | failed | 502 |
| the app raised anything else | crashed | 502 |
| the app returned without a complete response | incomplete | 502 |
| the response body is over the limit | too_large | 502 |

Each failure is logged here once, in the same words on every platform.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastfn.runtime import logs
from fastfn.runtime.context import SCOPE_KEY, CallContext, _current
from fastfn.runtime.failure import CallFailed

log = logging.getLogger("fastfn.call")

TIMEOUT = "timeout"
FAILED = "failed"
CRASHED = "crashed"
INCOMPLETE = "incomplete"
TOO_LARGE = "too_large"


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers  # as the app sent them (names as given, repeats kept)
        self.body = body

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


class Failure:
    __slots__ = ("kind", "message")

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"Failure({self.kind!r}, {self.message!r})"


class _Collected:
    __slots__ = ("body", "complete", "headers", "size", "started", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.started = False
        self.complete = False


def _expire(task: asyncio.Task | None, expired: list[bool]) -> None:
    expired.append(True)
    if task is not None:
        task.cancel()


async def run_http(app: Any, scope: dict, body: bytes, ctx: CallContext,
                   state: dict | None = None,
                   max_response_bytes: int | None = None) -> Response | Failure:
    """Run the app for one HTTP request whose whole body is `body`.

    `ctx` becomes `current()` and `scope["fastfn.context"]`; a copy of the lifespan
    `state` becomes `scope["state"]`; `ctx.deadline` (if any) cancels the app when it
    passes. Must run in its own task or one the caller owns: cancellation at the deadline
    is delivered to the current task.
    """
    started = time.perf_counter()
    if state is not None:
        scope["state"] = state.copy()
    scope[SCOPE_KEY] = ctx
    token = _current.set(ctx)
    try:
        return await _run(app, scope, body, ctx, max_response_bytes, started)
    finally:
        _current.reset(token)


async def _run(app: Any, scope: dict, body: bytes, ctx: CallContext, limit: int | None,
               started: float) -> Response | Failure:
    response = _Collected()
    body_sent = False
    # Only an app that calls receive() after the body waits for the end of the call:
    # most never do, so the future is made on demand.
    finished: asyncio.Future[None] | None = None

    async def receive() -> dict:
        nonlocal body_sent, finished
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if finished is None:
            finished = asyncio.get_running_loop().create_future()
        await finished
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            response.status = message["status"]
            response.headers = list(message.get("headers") or ())
            response.started = True
        elif kind == "http.response.body":
            chunk = message.get("body", b"")
            if chunk:
                response.size += len(chunk)
                # Past the limit the call fails anyway: keep nothing more.
                if limit is None or response.size <= limit:
                    response.body.append(chunk)
            if not message.get("more_body", False):
                response.complete = True

    timer: asyncio.TimerHandle | None = None
    expired: list[bool] = []
    task = asyncio.current_task()
    if ctx.deadline is not None:
        remaining = ctx.deadline.timestamp() - time.time()
        if remaining <= 0:
            log.warning("call arrived after its deadline", extra={"status": 504})
            return Failure(TIMEOUT, "the call's deadline has passed")
        # One timer handle rather than asyncio.timeout(): this is on every call's path.
        timer = asyncio.get_running_loop().call_later(remaining, _expire, task, expired)
    try:
        await app(scope, receive, send)
    except asyncio.CancelledError:
        if not expired:
            raise
        if task is not None:
            task.uncancel()
        log.error("call timed out at its deadline", extra={"status": 504})
        return Failure(TIMEOUT, "the function did not answer before its deadline")
    except CallFailed as failed:
        message = str(failed) or "the function failed the call"
        log.warning("call failed on purpose: %s", message, extra={"status": 502})
        return Failure(FAILED, message)
    except Exception:
        log.exception("unhandled exception in the app", extra={"status": 502})
        return Failure(CRASHED, "the function raised an unhandled exception")
    finally:
        if timer is not None:
            timer.cancel()
        if finished is not None and not finished.done():
            finished.set_result(None)

    if not response.started or not response.complete:
        log.error("app returned without completing a response", extra={"status": 502})
        return Failure(INCOMPLETE, "the function returned no complete response")
    if limit is not None and response.size > limit:
        log.error("response body over the limit",
                  extra={"status": 502, "bytes": response.size})
        return Failure(TOO_LARGE,
                       f"response body is {response.size} bytes; the limit is {limit}")
    payload = response.body[0] if len(response.body) == 1 else b"".join(response.body)
    # Logged once the response is written: the caller should not wait for our log line.
    asyncio.get_running_loop().call_soon(
        logs.access, ctx.call_id, scope["method"], scope["path"], response.status,
        (time.perf_counter() - started) * 1000)
    return Response(response.status, response.headers, payload)
