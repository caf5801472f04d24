"""A small `fastfn serve --http` app for the pool and load balancer tests.

`/whoami` names the instance (INSTANCE_NAME), `/version` the APP_VERSION it runs, `/pid`
its process; `/slow?seconds=` holds a request open so a
test can drain its backend while it is in flight.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/whoami")
async def whoami() -> dict[str, str]:
    return {"instance": os.environ.get("INSTANCE_NAME", "")}


@app.get("/slow")
async def slow(seconds: float = 1.0) -> dict[str, str]:
    await asyncio.sleep(seconds)
    return {"instance": os.environ.get("INSTANCE_NAME", "")}


@app.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid()}


@app.get("/version")
async def version() -> dict[str, str]:
    return {"version": os.environ.get("APP_VERSION", ""),
            "instance": os.environ.get("INSTANCE_NAME", "")}
