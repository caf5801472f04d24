"""The shared ASGI cycle in-process: plain ASGI apps, no sockets, no subprocess."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from fastfn.runtime.asgi.cycle import (
    CRASHED,
    FAILED,
    INCOMPLETE,
    TIMEOUT,
    TOO_LARGE,
    Failure,
    Response,
    run_http,
)
from fastfn.runtime.asgi.host import AppHost
from fastfn.runtime.asgi.scope import http_scope
from fastfn.runtime.context import SCOPE_KEY, TRIGGER_HTTP, CallContext, current
from fastfn.runtime.failure import CallFailed
from fastfn.runtime.lifespan import LifespanError


def ctx(seconds: float | None = 30.0, call_id: str = "c1") -> CallContext:
    deadline = None if seconds is None else datetime.now(UTC) + timedelta(seconds=seconds)
    return CallContext(platform="test", call_id=call_id, deadline=deadline,
                       trigger=TRIGGER_HTTP)


def scope(path: str = "/x") -> dict:
    return http_scope("GET", path, "", [(b"host", b"example")])


def respond(status: int = 200, *chunks: bytes, headers=((b"content-type", b"text/plain"),)):
    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": status,
                    "headers": list(headers)})
        for i, chunk in enumerate(chunks or (b"",)):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": i < len(chunks) - 1})
    return app


async def test_buffers_chunks_and_keeps_repeated_headers() -> None:
    app = respond(201, b"he", b"llo", headers=[(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")])
    result = await run_http(app, scope(), b"", ctx())
    assert isinstance(result, Response)
    assert (result.status, result.body) == (201, b"hello")
    assert result.headers == [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]


async def test_body_reaches_app_then_disconnect_after_the_call() -> None:
    seen: list[dict] = []

    async def app(scope, receive, send):
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

        async def later() -> None:
            seen.append(await receive())
        asyncio.get_running_loop().create_task(later())
        await asyncio.sleep(0)

    result = await run_http(app, scope(), b"payload", ctx())
    await asyncio.sleep(0.01)
    assert isinstance(result, Response)
    assert seen == [{"type": "http.request", "body": b"payload", "more_body": False},
                    {"type": "http.disconnect"}]


async def test_context_is_current_and_in_scope_only_during_the_call() -> None:
    seen = {}

    async def app(scope, receive, send):
        seen["current"] = current()
        seen["scope"] = scope[SCOPE_KEY]
        seen["state"] = scope["state"]
        scope["state"]["mutated"] = True
        await respond()(scope, receive, send)

    call = ctx(call_id="call-42")
    state = {"pool": "P"}
    await run_http(app, scope(), b"", call, state)
    assert seen["current"] is call and seen["scope"] is call
    assert seen["state"]["pool"] == "P"
    assert "mutated" not in state  # each call gets a copy
    assert current() is None


@pytest.mark.parametrize(("app_error", "kind", "message"), [
    (CallFailed("redeliver me"), FAILED, "redeliver me"),
    (CallFailed(), FAILED, "the function failed the call"),
    (RuntimeError("boom"), CRASHED, "the function raised an unhandled exception"),
])
async def test_exceptions_map_to_failures(app_error, kind, message) -> None:
    async def app(scope, receive, send):
        raise app_error

    result = await run_http(app, scope(), b"", ctx())
    assert isinstance(result, Failure)
    assert (result.kind, result.message) == (kind, message)


async def test_call_failed_logs_no_traceback(caplog) -> None:
    async def app(scope, receive, send):
        raise CallFailed("nope")

    with caplog.at_level(logging.WARNING, logger="fastfn.call"):
        await run_http(app, scope(), b"", ctx())
    assert [r.exc_info for r in caplog.records] == [None]


async def test_deadline_cancels_the_app_and_the_task_stays_usable() -> None:
    async def app(scope, receive, send):
        await asyncio.sleep(5)

    result = await run_http(app, scope(), b"", ctx(0.05))
    assert isinstance(result, Failure) and result.kind == TIMEOUT
    await asyncio.sleep(0)  # the caller's task was uncancelled: it goes on
    again = await run_http(respond(200, b"ok"), scope(), b"", ctx())
    assert isinstance(again, Response)


async def test_passed_deadline_never_runs_the_app() -> None:
    ran = []

    async def app(scope, receive, send):
        ran.append(1)

    result = await run_http(app, scope(), b"", ctx(-1))
    assert isinstance(result, Failure) and result.kind == TIMEOUT and not ran


async def test_outer_cancellation_is_not_a_timeout() -> None:
    async def app(scope, receive, send):
        await asyncio.sleep(5)

    task = asyncio.get_running_loop().create_task(run_http(app, scope(), b"", ctx()))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_incomplete_and_too_large() -> None:
    async def no_end(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})

    result = await run_http(no_end, scope(), b"", ctx())
    assert isinstance(result, Failure) and result.kind == INCOMPLETE

    big = await run_http(respond(200, b"a" * 600, b"b" * 600), scope(), b"", ctx(), None, 1000)
    assert isinstance(big, Failure) and big.kind == TOO_LARGE
    assert big.message == "response body is 1200 bytes; the limit is 1000"
    fits = await run_http(respond(200, b"a" * 1000), scope(), b"", ctx(), None, 1000)
    assert isinstance(fits, Response) and len(fits.body) == 1000


async def test_host_runs_lifespan_once_and_shares_state() -> None:
    events: list[str] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["db"] = "pool"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = scope["state"]["db"].encode()
        await respond(200, body)(scope, receive, send)

    host = AppHost(app)
    await host.start()
    results = [await host.http(scope(), b"", ctx()) for _ in range(3)]
    await host.stop()
    assert [r.body for r in results if isinstance(r, Response)] == [b"pool"] * 3
    assert events == ["lifespan.startup", "lifespan.shutdown"]


async def test_host_startup_failure_is_raised() -> None:
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(LifespanError, match="no database"):
        await AppHost(app).start()
