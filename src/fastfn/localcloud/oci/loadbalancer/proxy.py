"""A load balancer listener: a real HTTP/1.1 proxy on 127.0.0.1:<port>.

Each request goes to a backend chosen at that moment (round robin by weight over the
healthy, non-draining, non-offline ones; backups only when no primary is healthy), so a
backend stops getting new requests as soon as its drain begins while requests already
sent to it finish. Connections to backends are kept alive and reused.
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
BAD_GATEWAY = (b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n"
               b"content-length: 27\r\n\r\nNo healthy backend is left.")


class BadMessage(Exception):
    pass


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
                keep = await self.forward(head + body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (BadMessage, ValueError, asyncio.IncompleteReadError, ConnectionError,
                asyncio.LimitOverrunError):
            with contextlib.suppress(ConnectionError):
                writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        finally:
            writer.close()

    async def forward(self, request: bytes, client: asyncio.StreamWriter) -> bool:
        """Send one request to a backend and its response to the client; True: keep alive."""
        for _ in range(3):  # a refused or stale connection is retried: nothing was served
            backend = self.pick()
            if backend is None:
                break
            name = backend["name"]
            pool = self.idle.setdefault(name, [])
            try:
                conn = pool.pop() if pool else await asyncio.open_connection(
                    backend["ipAddress"], backend["port"])
            except OSError:
                continue
            reader, writer = conn
            try:
                writer.write(request)
                head = await read_head(reader)
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                continue
            headers = header_map(head)
            body = await read_body(reader, headers)
            if body is None:
                body = await reader.read()
                writer.close()
            elif headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                pool.append(conn)
            client.write(head + body)
            await client.drain()
            return body is not None
        client.write(BAD_GATEWAY)
        await client.drain()
        return True
