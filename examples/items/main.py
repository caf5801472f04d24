"""Seed 001's ingestion function: FastAPI inserting into PostgreSQL's `items` table.

The database DSN is a secret reference in the function's configuration (DATABASE_URL =
`vault:<secret-ocid>` on OCI, `env:NAME` locally), resolved once per container in the
lifespan, which also opens the connection pool and migrates the schema. If the database
is down at start-up the container still starts: requests answer 503 with Retry-After
until it is back, and the service recovers without a restart.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from typing import Annotated, Any, Required

import invalid
import psycopg
import store
from body import json_body, openapi_body
from database import Database, DatabaseUnavailable, is_outage
from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pages import page_json
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from fastfn.runtime.secrets import aresolve_env

log = logging.getLogger("items")

MAX_BATCH = 5000
MAX_DESCRIPTION = 10_000
RETRY_AFTER_S = "2"
# How long a request waits for a database connection before answering 503.
CONNECT_TIMEOUT_S = float(os.environ.get("DB_CONNECT_TIMEOUT", "3"))
# How long start-up waits for the first connection and migration before it gives the
# database to the background probe (start-up must be ready within the agent's 5 s).
STARTUP_DB_WAIT_S = 1.0


# PostgreSQL text cannot hold NUL characters: refuse them as invalid input, not a 500.
NO_NUL = r"^[^\x00]*$"


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION, pattern=NO_NUL)] = None


class BatchItem(TypedDict, total=False):
    """ItemIn's rules as a TypedDict: validated the same, without a model object per row."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    name: Required[Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]]
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION, pattern=NO_NUL)]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[BatchItem], Field(min_length=1, max_length=MAX_BATCH)]


class ItemOut(BaseModel):
    id: int
    name: str
    description: str | None
    created_at: str


class BatchOut(BaseModel):
    count: int
    created_at: str
    ids: list[int] | None = None  # with ?return_ids=true


def connect_kwargs() -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 3}
    # Through pgbouncer in transaction mode prepared statements break: turn them off.
    if os.environ.get("DB_POOL_MODE", "").lower() == "transaction":
        kwargs["prepare_threshold"] = None
    return kwargs


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    dsn = await aresolve_env("DATABASE_URL")
    database = Database(dsn.reveal(), connect_kwargs(), connect_timeout_s=CONNECT_TIMEOUT_S)
    # The Fn agent gives a container 5 s to be ready: never wait long for the database.
    await database.open(wait_s=STARTUP_DB_WAIT_S)
    yield {"db": database}
    await database.close()


# The service exports no OpenTelemetry: without this FastAPI asks the global providers
# whether to trace, meter and log on every request.
app = FastAPI(title="items", lifespan=lifespan,
              telemetry={"tracing": False, "metrics": False, "logs": False})
invalid.install(app)


def unavailable(reason: str) -> JSONResponse:
    return JSONResponse({"detail": "database unavailable", "reason": reason}, status_code=503,
                        headers={"Retry-After": RETRY_AFTER_S})


@app.exception_handler(DatabaseUnavailable)
@app.exception_handler(psycopg.OperationalError)
@app.exception_handler(PoolTimeout)
async def database_down(request: Request, exc: Exception) -> JSONResponse:
    if not is_outage(exc):
        raise exc  # a statement error: the app's bug, a 500 with its traceback logged
    if not isinstance(exc, DatabaseUnavailable) or request.state.db.down_since is None:
        request.state.db.mark_down(type(exc).__name__)
    log.debug("database unavailable: %s", type(exc).__name__)
    return unavailable(type(exc).__name__)


@app.get("/health")
async def health(request: Request) -> JSONResponse:
    try:
        await store.ping(request.state.db)
    except (DatabaseUnavailable, psycopg.OperationalError, PoolTimeout) as exc:
        return await database_down(request, exc)
    return JSONResponse({"status": "ok", "database": "ok"})


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "A retried POST with the same key returns the original item.",
}


@app.post("/items", status_code=201, response_model=ItemOut,
          openapi_extra={"parameters": [IDEMPOTENCY_HEADER],
                         "requestBody": openapi_body(ItemIn)})
async def create_item(request: Request) -> JSONResponse:
    # The body and the key are read from the request rather than declared as parameters:
    # FastAPI's body and dependency handling is a measurable part of every call (body.py).
    item = await json_body(request, ItemIn)
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= 255:
        return JSONResponse({"detail": [{"loc": ["header", "idempotency-key"],
                                         "type": "string_too_long",
                                         "msg": "Idempotency-Key must be 1-255 characters"}]},
                            status_code=422)
    try:
        created, replayed = await store.insert_item_once(
            request.state.db, item.name, item.description, key)
    except store.IdempotencyConflict:
        return JSONResponse({"detail": [{"loc": ["header", "idempotency-key"],
                                         "type": "conflict",
                                         "msg": "Idempotency-Key was already used with a "
                                                "different body"}]}, status_code=422)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(created.as_json(), status_code=201, headers=headers)


@app.post("/items/batch", status_code=201, response_model=BatchOut)
async def create_batch(
    batch: BatchIn, request: Request,
    return_ids: Annotated[bool, Query(description="also return the new ids (slower)")] = False,
) -> JSONResponse:
    rows = [(item["name"], item.get("description")) for item in batch.items]
    ids, created_at = await store.insert_batch(request.state.db, rows, return_ids)
    body: dict[str, Any] = {"count": len(rows), "created_at": created_at.isoformat()}
    if ids is not None:
        body["ids"] = ids
    # A JSONResponse skips FastAPI's per-element encoding of thousands of ids.
    return JSONResponse(body, status_code=201)


@app.get("/items/{item_id}")
async def get_item(item_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                   request: Request) -> JSONResponse:
    item = await store.get_item(request.state.db, item_id)
    if item is None:
        return JSONResponse({"detail": f"item {item_id} not found"}, status_code=404)
    return JSONResponse(item.as_json())


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page")


@app.get("/items", response_model=ItemPage)
async def list_items(
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description=(
        "at most this many items; a page also stops before 5 MB of JSON"))] = 50,
) -> Response:
    items = await store.list_items(request.state.db, after, limit)
    return Response(page_json(items, limit), media_type="application/json")
