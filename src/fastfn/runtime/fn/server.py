"""An HTTP/1.1 server for the Fn agent's calls on the unix socket.

The agent sends one `POST /call` at a time per container over a keep-alive connection,
so this is deliberately small: httptools parses, each call runs the app in the
connection's own task through the shared buffered cycle (`runtime/asgi`), so the outer
status and Content-Length are known before anything is written. This module is only the
socket side: HTTP/1.1 parsing, one call at a time per connection, and draining.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import httptools

from fastfn.runtime.asgi.host import AppHost
from fastfn.runtime.fn.bridge import (
    FnConfig,
    HeaderList,
    Rejection,
    build_call,
    encode_outer_error,
    encode_rejection,
    encode_result,
)

log = logging.getLogger("fastfn.call")


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


class FnServer:
    """Shared by all connections: the app, its config and lifespan state, in-flight calls."""

    def __init__(self, host: AppHost, config: FnConfig) -> None:
        self.host = host
        self.config = config
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
        result, ctx = build_call(call.headers, call.body, self.server.config, call.body_size)
        if isinstance(result, Rejection):
            log.warning("call refused: %s", result.error,
                        extra={"call_id": ctx.call_id, "status": result.app_status})
            return encode_rejection(result, ctx.call_id, keep_alive)
        outcome = await self.server.host.http(result, call.body, ctx,
                                              self.server.config.max_body_bytes)
        return encode_result(outcome, ctx.call_id, keep_alive)
