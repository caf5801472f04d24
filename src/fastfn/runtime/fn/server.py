"""An HTTP/1.1 server for the Fn agent's calls on the unix socket.

The agent sends one `POST /call` at a time per container over a keep-alive connection,
so this is deliberately small: httptools parses, each call runs the app in the
connection's own task, and the whole response is buffered (bodies are capped at 6 MB
anyway) so the outer status and Content-Length are known before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import httptools

from fastfn.runtime import logs
from fastfn.runtime.context import SCOPE_KEY, FnContext, _current
from fastfn.runtime.failure import CallFailed
from fastfn.runtime.fn.bridge import (
    FnConfig,
    HeaderList,
    Rejection,
    build_call,
    encode_app_response,
    encode_outer_error,
    encode_rejection,
)

log = logging.getLogger("fastfn.call")


def _expire(task: asyncio.Task | None, expired: list[bool]) -> None:
    expired.append(True)
    if task is not None:
        task.cancel()


class _Call:
    __slots__ = ("body", "body_size", "headers", "keep_alive", "method", "url")

    def __init__(self, method: bytes, url: bytes, headers: HeaderList, body: bytes,
                 body_size: int, keep_alive: bool) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.body_size = body_size
        self.keep_alive = keep_alive


class _AppResponse:
    __slots__ = ("body", "complete", "headers", "size", "started", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.started = False
        self.complete = False


class FnServer:
    """Shared by all connections: the app, its config and lifespan state, in-flight calls."""

    def __init__(self, app: Any, config: FnConfig, state: dict | None = None) -> None:
        self.app = app
        self.config = config
        self.state = state if state is not None else {}
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.connections: set[CallProtocol] = set()

    def protocol(self) -> CallProtocol:
        return CallProtocol(self)

    def close_idle_connections(self) -> None:
        for conn in list(self.connections):
            if conn.current is None:
                conn.close()


class CallProtocol(asyncio.Protocol):
    def __init__(self, server: FnServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.pending: deque[_Call] = deque()
        self.current: asyncio.Task | None = None
        self.closed = False
        self._url = b""
        self._headers: HeaderList = []
        self._body: list[bytes] = []
        self._size = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._bad_request("protocol upgrades are not part of the Fn contract")
        except httptools.HttpParserError as exc:
            self._bad_request(f"malformed HTTP request from the agent: {exc}")

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def _bad_request(self, message: str) -> None:
        log.warning(message)
        if self.transport is not None and not self.closed:
            self.transport.write(encode_outer_error(502, message, "", keep_alive=False))
        self.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_body(self, chunk: bytes) -> None:
        self._size += len(chunk)
        # Past the limit the call is refused: keep nothing more than needed to say so.
        if self._size <= self.server.config.max_body_bytes:
            self._body.append(chunk)

    def on_message_complete(self) -> None:
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        call = _Call(self.parser.get_method(), self._url, self._headers, body, self._size,
                     self.parser.should_keep_alive())
        self.pending.append(call)
        if self.current is None:
            self.current = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        server = self.server
        try:
            while self.pending and not self.closed:
                call = self.pending.popleft()
                server.in_flight += 1
                server.idle.clear()
                try:
                    response = await self._handle(call)
                finally:
                    server.in_flight -= 1
                    if server.in_flight == 0:
                        server.idle.set()
                if not self.closed and self.transport is not None:
                    self.transport.write(response)
                    if not call.keep_alive:
                        self.close()
        finally:
            self.current = None

    async def _handle(self, call: _Call) -> bytes:
        keep_alive = call.keep_alive
        if call.method != b"POST" or call.url.partition(b"?")[0] != b"/call":
            return encode_outer_error(
                502, f"the Fn agent only sends POST /call, got {call.method.decode()} "
                f"{call.url.decode('latin-1')}", "", keep_alive)
        started = time.perf_counter()
        result, ctx = build_call(call.headers, call.body, self.server.config, call.body_size)
        if isinstance(result, Rejection):
            log.warning("call refused: %s", result.error,
                        extra={"call_id": ctx.call_id, "status": result.app_status})
            return encode_rejection(result, ctx.call_id, keep_alive)
        scope = result
        scope["state"] = self.server.state.copy()
        scope[SCOPE_KEY] = ctx
        token = _current.set(ctx)
        try:
            return await self._run_app(scope, call.body, ctx, keep_alive, started)
        finally:
            _current.reset(token)

    async def _run_app(self, scope: dict, body: bytes, ctx: FnContext, keep_alive: bool,
                       started: float) -> bytes:
        response = _AppResponse()
        limit = self.server.config.max_body_bytes
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
                    if response.size <= limit:
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
                return encode_outer_error(504, "the call's Fn-Deadline has passed",
                                          ctx.call_id, keep_alive)
            # One timer handle rather than asyncio.timeout(): this is on every call's path.
            timer = asyncio.get_running_loop().call_later(remaining, _expire, task, expired)
        try:
            await self.server.app(scope, receive, send)
        except asyncio.CancelledError:
            if not expired:
                raise
            if task is not None:
                task.uncancel()
            log.error("call timed out at its deadline", extra={"status": 504})
            return encode_outer_error(504, "the function did not answer before its deadline",
                                      ctx.call_id, keep_alive)
        except CallFailed as failed:
            message = str(failed) or "the function failed the call"
            log.warning("call failed on purpose: %s", message, extra={"status": 502})
            return encode_outer_error(502, message, ctx.call_id, keep_alive)
        except Exception:
            log.exception("unhandled exception in the app", extra={"status": 502})
            return encode_outer_error(502, "the function raised an unhandled exception",
                                      ctx.call_id, keep_alive)
        finally:
            if timer is not None:
                timer.cancel()
            if finished is not None and not finished.done():
                finished.set_result(None)

        if not response.started or not response.complete:
            log.error("app returned without completing a response", extra={"status": 502})
            return encode_outer_error(502, "the function returned no complete response",
                                      ctx.call_id, keep_alive)
        if response.size > limit:
            log.error("response body over the limit",
                      extra={"status": 502, "bytes": response.size})
            return encode_outer_error(
                502, f"response body is {response.size} bytes; the limit is {limit}",
                ctx.call_id, keep_alive)
        payload = b"".join(response.body)
        # Logged once the response is written: the agent should not wait for our log line.
        asyncio.get_running_loop().call_soon(
            logs.access, ctx.call_id, scope["method"], scope["path"], response.status,
            (time.perf_counter() - started) * 1000)
        return encode_app_response(response.status, response.headers, payload, keep_alive)
