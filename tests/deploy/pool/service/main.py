"""The service a pool test rolls out: each version is a different VERSION file; a
version whose VERSION starts with "broken" never answers /health with 200."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse

VERSION = (Path(__file__).parent / "VERSION").read_text().strip()
app = FastAPI()


@app.get("/health")
async def health() -> JSONResponse:
    if VERSION.startswith("broken"):
        return JSONResponse({"status": "broken"}, status_code=503)
    return JSONResponse({"status": "ok"})


@app.get("/whoami")
async def whoami() -> dict[str, str]:
    return {"instance": os.environ.get("INSTANCE_NAME", ""), "version": VERSION}


@app.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid()}
