"""A FastAPI app that reports what it received, for the Lambda runtime tests."""

from __future__ import annotations

import asyncio
import base64
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fastfn.runtime.context import current
from fastfn.runtime.failure import CallFailed

STARTUPS = {"count": 0}


@asynccontextmanager
async def lifespan(app: FastAPI):
    STARTUPS["count"] += 1
    if os.environ.get("LAMBDA_APP_FAIL_STARTUP"):
        raise RuntimeError("database unreachable")
    yield {"pool": f"pool-{os.getpid()}"}
    marker = os.environ.get("LAMBDA_APP_SHUTDOWN_FILE")
    if marker:
        with open(marker, "a") as out:
            out.write(f"shutdown {os.getpid()}\n")


app = FastAPI(lifespan=lifespan)


async def _echo(request: Request) -> dict:
    ctx = current()
    body = await request.body()
    return {
        "method": request.method,
        "path": request.scope["path"],
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "root_path": request.scope["root_path"],
        "url": str(request.url),
        "query": request.scope["query_string"].decode("latin-1"),
        "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
        "cookies": dict(request.cookies),
        "body_b64": base64.b64encode(body).decode(),
        "pool": request.state.pool,
        "context": None if ctx is None else {
            "platform": ctx.platform, "call_id": ctx.call_id, "trigger": ctx.trigger,
            "function_id": ctx.function_id, "function_name": ctx.function_name,
            "memory_mb": ctx.memory_mb, "event_source": getattr(ctx, "event_source", None),
            "remaining": ctx.remaining_seconds(),
        },
    }


@app.api_route("/echo/{rest:path}", methods=["GET", "POST", "PUT"])
async def echo_path(request: Request) -> dict:
    return await _echo(request)


@app.api_route("/echo", methods=["GET", "POST", "PUT"])
async def echo(request: Request) -> dict:
    return await _echo(request)


@app.get("/cookies")
async def cookies() -> Response:
    response = JSONResponse({"ok": True})
    response.set_cookie("a", "1", path="/")
    response.set_cookie("b", "2", expires="Wed, 21 Oct 2037 07:28:00 GMT")
    return response


BINARY = bytes(range(256))


@app.get("/binary")
async def binary() -> Response:
    return Response(BINARY, media_type="image/png")


@app.post("/binary")
async def binary_echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


@app.post("/events")
async def events(request: Request) -> dict:
    event = await request.json()
    ctx = current()
    text = str(event)
    if "please-fail" in text:
        raise CallFailed("record refused")
    if "please-crash" in text:
        raise RuntimeError("boom")
    if "please-500" in text:
        return JSONResponse({"error": "nope"}, status_code=500)  # type: ignore[return-value]
    return {"got": event, "source": request.headers.get("x-fastfn-event-source"),
            "trigger": ctx.trigger if ctx else None}


@app.post("/direct")
async def direct(request: Request) -> dict:
    return {"direct": await request.json(), "startups": STARTUPS["count"]}


@app.get("/sleep")
async def sleep(s: float) -> dict:
    await asyncio.sleep(s)
    return {"slept": s}


@app.get("/fail")
async def fail() -> dict:
    raise CallFailed("refused on purpose")


@app.get("/lifespan")
async def lifespan_count() -> dict:
    return {"startups": STARTUPS["count"], "pid": os.getpid()}


@app.get("/big")
async def big(mb: int) -> Response:
    return Response(b"x" * (mb * 1024 * 1024), media_type="application/octet-stream")


@app.get("/text")
async def text() -> Response:
    return Response("héllo wörld", media_type="text/plain; charset=utf-8")
