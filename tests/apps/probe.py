"""A FastAPI app that reports what it sees, for testing the Fn runtime from outside."""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, Field

from fastfn.runtime.context import SCOPE_KEY, current

MARKERS = Path(os.environ.get("PROBE_MARKER_DIR", "."))
STARTUPS = 0


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    global STARTUPS
    STARTUPS += 1
    if os.environ.get("PROBE_FAIL_STARTUP"):
        raise RuntimeError("startup refused by PROBE_FAIL_STARTUP")
    await asyncio.sleep(float(os.environ.get("PROBE_SLOW_STARTUP_S", "0")))
    (MARKERS / f"startup-{os.getpid()}").touch()
    yield {"opened_at_startup": "yes"}
    (MARKERS / f"shutdown-{os.getpid()}").touch()


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=255)


@app.api_route("/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def echo(request: Request) -> dict:
    ctx = current()
    return {
        "method": request.method,
        "path": request.url.path,
        "scope_path": request.scope["path"],
        "root_path": request.scope["root_path"],
        "query": request.url.query,
        "headers": [[k, v] for k, v in request.headers.items()],
        "body": (await request.body()).decode(errors="replace"),
        "context": None if ctx is None else {
            "call_id": ctx.call_id, "intent": ctx.intent, "invoke_type": ctx.invoke_type,
            "request_id": ctx.request_id, "fn_id": ctx.fn_id, "app_id": ctx.app_id,
            "deadline": ctx.deadline.isoformat() if ctx.deadline else None,
            "gateway": ctx.is_gateway_call,
        },
        "same_context_in_scope": request.scope.get(SCOPE_KEY) is ctx,
        "state": request.state.opened_at_startup,
    }


@app.get("/sync-context")
def sync_context() -> dict:
    ctx = current()
    return {"call_id": ctx.call_id if ctx else None}


@app.post("/items", status_code=201)
async def create_item(item: Item) -> dict:
    return {"name": item.name}


@app.post("/events")
async def events(request: Request) -> dict:
    event = await request.json()
    return {"received": event.get("eventType"), "intent": current().intent}  # type: ignore[union-attr]


@app.get("/cookies")
async def cookies(response: Response) -> dict:
    response.set_cookie("first", "1")
    response.set_cookie("second", "2")
    response.headers["X-Custom"] = "yes"
    return {"ok": True}


@app.get("/status/{code}")
async def status(code: int) -> Response:
    return Response(content=f"status {code}", status_code=code, media_type="text/plain")


@app.get("/fail-on-purpose")
async def fail_on_purpose() -> dict:
    from fastfn.runtime.failure import CallFailed

    raise CallFailed("try again later")


@app.get("/crash")
async def crash() -> dict:
    raise RuntimeError("boom: internal detail that must not leak")


@app.get("/sleep/{seconds}")
async def sleep(seconds: float) -> dict:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@app.get("/exit")
async def exit_process() -> dict:
    os._exit(17)


@app.get("/big/{size}")
async def big(size: int) -> Response:
    return Response(content=b"x" * size, media_type="application/octet-stream")


@app.post("/size")
async def size(request: Request) -> dict:
    return {"bytes": len(await request.body())}


@app.get("/lifespan")
async def lifespan_count() -> dict:
    return {"startups": STARTUPS, "pid": os.getpid()}
