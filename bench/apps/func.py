"""fdk-python entry point for the bench app: `fdk func.py handler`.

fdk-python is not ASGI, so this is the small adapter a user would write: turn the
gateway's method, URL and headers into one ASGI HTTP request, run the FastAPI app, and
hand its status, headers and body back to the FDK. No lifespan (fdk-python has none).
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote, urlsplit

from app import app
from fdk import response


def _request_headers(ctx: Any) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    for name, value in ctx.HTTPHeaders().items():
        for item in value if isinstance(value, list) else [value]:
            headers.append((name.lower().encode("latin-1"), str(item).encode("latin-1")))
    content_type = ctx.Headers().get("content-type")
    if content_type and not any(name == b"content-type" for name, _ in headers):
        headers.append((b"content-type", str(content_type).encode("latin-1")))
    return headers


async def handler(ctx: Any, data: io.BytesIO | None = None) -> response.Response:
    target = urlsplit(ctx.RequestURL() or "/")
    body = data.getvalue() if data is not None else b""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": (ctx.Method() or "POST").upper(),
        "scheme": "http",
        "path": unquote(target.path or "/"),
        "raw_path": (target.path or "/").encode("latin-1"),
        "query_string": target.query.encode("latin-1"),
        "root_path": "",
        "headers": _request_headers(ctx),
        "client": None,
        "server": None,
    }
    sent = False
    status = 500
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", ()):
                out_headers[name.decode("latin-1")] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return response.Response(ctx, response_data=b"".join(chunks), headers=out_headers,
                             status_code=status)
