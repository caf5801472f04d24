"""A service for the deploy tests: answers direct invokes with its version and config."""

from __future__ import annotations

import os

from fastapi import FastAPI

VERSION = "1"

app = FastAPI()


@app.post("/hello")
async def hello() -> dict[str, str | None]:
    return {"version": VERSION, "greeting": os.environ.get("GREETING")}
