"""A load balancer listener: a real HTTP/1.1 proxy on 127.0.0.1:<port>.

Each request goes to a backend chosen at that moment (round robin by weight over the
healthy, non-draining, non-offline ones; backups only when no primary is healthy), so a
backend stops getting new requests as soon as its drain begins while requests already
sent to it finish. Connections to backends are kept alive and reused.

A request goes to another backend only when it cannot have been served twice: the
connection could not be made, or the request is one a client may replay (a safe or
idempotent method, or one carrying an Idempotency-Key). A POST whose connection fails
after it was sent may have been processed, so it gets a 502 rather than a second run. A
kept-alive connection the backend has closed is dropped before it is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from typing import Any, Protocol


class BackendSource(Protocol):
    """What a listener asks of the load balancer service: where traffic may go now."""

    def eligible(self, lb_id: str, backend_set: str) -> list[dict[str, Any]]: ...

log = logging.getLogger("fastfn.localcloud.oci.loadbalancer")

MAX_HEAD = 64 * 1024
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
NO_BACKEND = b"No healthy backend is left."
FAILED_AFTER_SEND = b"The backend failed after the request was sent; it was not replayed."


def bad_gateway(text: bytes) -> bytes:
    return (b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(text), text))


# RFC 9110 9.2.2: a client may repeat these; the Idempotency-Key draft makes any request so.
REPLAYABLE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})
IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key")


class BadMessage(Exception):
    pass


def replayable(head: bytes, headers: dict[str, str]) -> bool:
    method = head.split(b" ", 1)[0]
    return method in REPLAYABLE_METHODS or any(h in headers for h in IDEMPOTENCY_HEADERS)


async def read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise BadMessage("head too large") from None


def header_map(head: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            found[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return found


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
    """The message body as raw bytes (chunked kept as is); None: it runs to EOF."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            out += size_line
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    out += trailer
                out += b"\r\n"
                return bytes(out)
            out += await reader.readexactly(size + 2)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return None


class Listener:
    def __init__(self, lbs: BackendSource, lb_id: str, backend_set: str, port: int) -> None:
        self.lbs = lbs
        self.lb_id = lb_id
        self.backend_set = backend_set
        self.port = port
        self.server: asyncio.Server | None = None
        self.idle: dict[str, list[Conn]] = {}
        self.turn = itertools.count()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", self.port,
                                                 limit=MAX_HEAD)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
        for conns in self.idle.values():
            for _, writer in conns:
                writer.close()
        self.idle.clear()

    def pick(self) -> dict[str, Any] | None:
        backends = self.lbs.eligible(self.lb_id, self.backend_set)
        if not backends:
            return None
        weighted = [b for b in backends for _ in range(b.get("weight") or 1)]
        return weighted[next(self.turn) % len(weighted)]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await read_head(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                headers = header_map(head)
                body = await read_body(reader, headers) or b""
                keep = await self.forward(head + body, writer, replayable(head, headers))
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (BadMessage, ValueError, asyncio.IncompleteReadError, ConnectionError,
                asyncio.LimitOverrunError):
            with contextlib.suppress(ConnectionError):
                writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        finally:
            writer.close()

    def _reusable(self, name: str) -> Conn | None:
        pool = self.idle.setdefault(name, [])
        while pool:
            reader, writer = pool.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()  # the backend closed it while it was idle
        return None

    async def forward(self, request: bytes, client: asyncio.StreamWriter,
                      may_replay: bool) -> bool:
        """Send one request to a backend and its response to the client; True: keep alive."""
        for _ in range(3):  # a backend that cannot be reached is skipped
            backend = self.pick()
            if backend is None:
                break
            name = backend["name"]
            try:
                conn = self._reusable(name) or await asyncio.open_connection(
                    backend["ipAddress"], backend["port"])
            except OSError:
                continue
            reader, writer = conn
            try:
                writer.write(request)
                head = await read_head(reader)
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                if may_replay:
                    continue
                log.warning("backend %s failed after a %s was sent: 502, not replayed",
                            name, request.split(b" ", 1)[0].decode("latin-1"))
                client.write(bad_gateway(FAILED_AFTER_SEND))
                await client.drain()
                return True
            headers = header_map(head)
            body = await read_body(reader, headers)
            if body is None:
                body = await reader.read()
                writer.close()
            elif headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self.idle.setdefault(name, []).append(conn)
            client.write(head + body)
            await client.drain()
            return body is not None
        client.write(bad_gateway(NO_BACKEND))
        await client.drain()
        return True
