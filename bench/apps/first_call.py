"""An anchor for bench/fn_runtime.py: the app imported and its first request served
in-process (GET /hello through plain asyncio, no server, no socket), then "R" on stdout.

FastAPI does work on an endpoint's first request (it reads the endpoint's source with
`inspect.getsourcelines`, which compiles the tokenizer's patterns): every server pays it,
so it is the app's cold-start cost, not the server's."""

from __future__ import annotations

import asyncio
import os

import app


async def first_request() -> None:
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/hello",
             "raw_path": b"/hello", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"localhost")], "server": ("localhost", 80),
             "client": ("127.0.0.1", 1), "state": {}}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app.app(scope, receive, send)
    if not sent or sent[0].get("status") != 200:
        raise SystemExit(f"first request failed: {sent[:1]}")


asyncio.run(first_request())
os.write(1, b"R")
