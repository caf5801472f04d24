"""The agent's side of one container connection: dial lsnr.sock, send `POST /call`."""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import httptools


class SocketContractError(Exception):
    """The function published its socket in a way the Fn agent would reject."""


def check_published_socket(path: Path) -> None:
    """lsnr.sock must be a socket, or a relative symlink to a socket in the same directory."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        target = os.readlink(path)
        if os.path.isabs(target) or "/" in target:
            raise SocketContractError(
                f"{path.name} links to {target!r}: the link must be relative, "
                "to a socket in the same directory"
            )
        mode = (path.parent / target).stat().st_mode
    if not stat.S_ISSOCK(mode):
        raise SocketContractError(f"{path.name} is not a unix socket")


@dataclass
class FnResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default

    def header_values(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]


@dataclass
class _ResponseBuilder:
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    done: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.done = True


class ConnectionClosed(Exception):
    """The container closed the connection before a complete response."""


class AgentConnection:
    """One keep-alive connection to a function's socket, one call at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def dial(cls, path: Path) -> AgentConnection:
        reader, writer = await asyncio.open_unix_connection(os.fspath(path))
        return cls(reader, writer)

    async def call(self, headers: list[tuple[str, str]], body: bytes) -> FnResponse:
        head = ["POST /call HTTP/1.1", "Host: localhost", "User-Agent: lua-resty-http"]
        head += [f"{name}: {value}" for name, value in headers]
        head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        builder = _ResponseBuilder()
        parser = httptools.HttpResponseParser(builder)
        while not builder.done:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionClosed("function closed the connection without a response")
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise ConnectionClosed(f"malformed response from function: {exc}") from exc
        return FnResponse(parser.get_status_code(), builder.headers, b"".join(builder.body))

    def close(self) -> None:
        self.writer.close()
