"""The app the pool rollout bench rolls out: each version is its VERSION file."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

VERSION = (Path(__file__).parent / "VERSION").read_text().strip()
app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/whoami")
async def whoami() -> dict[str, str]:
    return {"instance": os.environ.get("INSTANCE_NAME", ""), "version": VERSION}
