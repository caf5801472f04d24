"""A small API as a VM would serve it: lifespan marker, a slow route, the call context."""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from fastfn.runtime.context import current

MARKERS = Path(os.environ["VMAPP_MARKERS"])


@asynccontextmanager
async def lifespan(app: FastAPI):
    with (MARKERS / "startups").open("a") as f:
        f.write("up\n")
    yield
    (MARKERS / "shutdown").write_text("done")


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.get("/slow")
async def slow(seconds: float = 1.5) -> dict:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict:
    return {"id": item_id}


@app.get("/ctx")
def ctx() -> dict:  # sync on purpose: the context must reach the thread pool
    call = current()
    assert call is not None
    return {"call_id": call.call_id, "platform": call.platform, "trigger": call.trigger,
            "client": call.client}
