"""Seed 001's ingestion function: FastAPI inserting into PostgreSQL's `items` table.

The database DSN is a secret reference in the function's configuration (DATABASE_URL =
`vault:<secret-ocid>` on OCI, `env:NAME` locally), resolved once per container in the
lifespan, which also opens the connection pool and migrates the schema. If the database
is down at start-up the container still starts: requests answer 503 with Retry-After
until it is back, and the service recovers without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any, Required

import psycopg
import store
from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from fastfn.runtime.secrets import aresolve_env

log = logging.getLogger("items")

MAX_BATCH = 5000
MAX_DESCRIPTION = 10_000
RETRY_AFTER_S = "2"
# How long a request waits for a database connection before answering 503.
CONNECT_TIMEOUT_S = float(os.environ.get("DB_CONNECT_TIMEOUT", "3"))


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


class DatabaseUnavailable(Exception):
    pass


class Database:
    """The pool, plus the schema migration that must have run before the first query."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.migrated = False
        self._lock = asyncio.Lock()

    async def ready(self) -> AsyncConnectionPool:
        if not self.migrated:
            async with self._lock:
                if not self.migrated:
                    try:
                        async with self.pool.connection(timeout=CONNECT_TIMEOUT_S) as conn:
                            await store.migrate(conn)
                    except (psycopg.OperationalError, PoolTimeout) as exc:
                        raise DatabaseUnavailable(str(exc)) from exc
                    self.migrated = True
        return self.pool


# A connection returned healthy this recently is not pinged again before reuse: the ping is
# a round trip per request. Older ones are, so after a database restart stale connections
# are replaced instead of failing a request.
FRESH_S = 2.0
_returned_at: dict[int, float] = {}


async def mark_fresh(conn: psycopg.AsyncConnection) -> None:
    _returned_at[id(conn)] = time.monotonic()


async def check_unless_fresh(conn: psycopg.AsyncConnection) -> None:
    if time.monotonic() - _returned_at.pop(id(conn), 0.0) > FRESH_S:
        await AsyncConnectionPool.check_connection(conn)


def pool_settings() -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 3}
    # Through pgbouncer in transaction mode prepared statements break: turn them off.
    if os.environ.get("DB_POOL_MODE", "").lower() == "transaction":
        kwargs["prepare_threshold"] = None
    return kwargs


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    dsn = await aresolve_env("DATABASE_URL")
    # One function instance handles one call at a time: two connections are plenty.
    pool = AsyncConnectionPool(
        dsn.reveal(), min_size=1, max_size=2, open=False, kwargs=pool_settings(),
        check=check_unless_fresh, reset=mark_fresh, timeout=CONNECT_TIMEOUT_S,
        reconnect_timeout=0, name="items",
    )
    await pool.open(wait=False)
    database = Database(pool)
    try:
        await database.ready()
    except DatabaseUnavailable:
        log.warning("database unavailable at start-up; will retry on each request")
    yield {"db": database}
    await pool.close()


app = FastAPI(title="items", lifespan=lifespan)


def unavailable(reason: str) -> JSONResponse:
    return JSONResponse({"detail": "database unavailable", "reason": reason}, status_code=503,
                        headers={"Retry-After": RETRY_AFTER_S})


@app.exception_handler(DatabaseUnavailable)
@app.exception_handler(psycopg.OperationalError)
@app.exception_handler(PoolTimeout)
async def database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return unavailable(type(exc).__name__)


async def pool_of(request: Request) -> AsyncConnectionPool:
    return await request.state.db.ready()


@app.get("/health")
async def health(request: Request) -> JSONResponse:
    try:
        await store.ping(await pool_of(request))
    except (DatabaseUnavailable, psycopg.OperationalError, PoolTimeout) as exc:
        return unavailable(type(exc).__name__)
    return JSONResponse({"status": "ok", "database": "ok"})


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "A retried POST with the same key returns the original item.",
}


@app.post("/items", status_code=201, response_model=ItemOut,
          openapi_extra={"parameters": [IDEMPOTENCY_HEADER]})
async def create_item(item: ItemIn, request: Request) -> JSONResponse:
    # The key is read from the request rather than declared as a dependency: dependency
    # solving is a measurable part of every call here.
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= 255:
        return JSONResponse({"detail": [{"loc": ["header", "idempotency-key"],
                                         "type": "string_too_long",
                                         "msg": "Idempotency-Key must be 1-255 characters"}]},
                            status_code=422)
    try:
        created, replayed = await store.insert_item_once(
            await pool_of(request), item.name, item.description, key)
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
    ids, created_at = await store.insert_batch(await pool_of(request), rows, return_ids)
    body: dict[str, Any] = {"count": len(rows), "created_at": created_at.isoformat()}
    if ids is not None:
        body["ids"] = ids
    # A JSONResponse skips FastAPI's per-element encoding of thousands of ids.
    return JSONResponse(body, status_code=201)


@app.get("/items/{item_id}")
async def get_item(item_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                   request: Request) -> JSONResponse:
    item = await store.get_item(await pool_of(request), item_id)
    if item is None:
        return JSONResponse({"detail": f"item {item_id} not found"}, status_code=404)
    return JSONResponse(item.as_json())


@app.get("/items")
async def list_items(
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    items = await store.list_items(await pool_of(request), after, limit)
    next_after = items[-1].id if len(items) == limit else None
    return {"items": [item.as_json() for item in items], "next_after": next_after}
