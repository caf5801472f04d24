"""A small service for the aws target tests: its version comes from config, its key from
an `ssm:` secret resolved at start-up, and it can be told to fail or be slow."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request

from fastfn.runtime.secrets import resolve_env


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield {"key": resolve_env("API_KEY") if os.environ.get("API_KEY") else None}


app = FastAPI(lifespan=lifespan)
CODE_TAG = "one"


@app.get("/info/version")
def version() -> dict:
    return {"version": os.environ.get("SERVICE_VERSION", "?"), "code": CODE_TAG}


@app.get("/key-length")
def key_length(request: Request) -> dict:
    key = request.state.key
    return {"length": None if key is None else len(key.reveal())}


@app.get("/fail")
def fail() -> dict:
    raise HTTPException(500, "told to")
