"""The app for bench/lambda_runtime.py: a lifespan that opens a 'pool' and one route."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

STARTUPS = {"count": 0}


@asynccontextmanager
async def lifespan(app: FastAPI):
    STARTUPS["count"] += 1
    yield {"pool": "pool"}


app = FastAPI(lifespan=lifespan)


@app.get("/hello")
async def hello(request: Request) -> dict:
    return {"hello": "world", "startups": STARTUPS["count"]}
