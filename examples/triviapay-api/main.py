"""TriviaPay API (seed 002's shape): players and their payouts on PostgreSQL, served on
a VM by `fastfn serve main:app --http` on `PORT` behind the load balancer.

`GET /health` is the load balancer's readiness check (200, and 503 as soon as the server
is told to stop); `GET /health/db` is the deeper smoke test: one query, 503 naming the
cause when the database is down.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from db import Database, DatabaseDown
from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

log = logging.getLogger("triviapay")
VERSION = os.environ.get("APP_VERSION", "dev")
PlayerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.db = await Database.from_env()
    await app.state.db.open()
    try:
        yield
    finally:
        await app.state.db.close()


app = FastAPI(title="TriviaPay API", lifespan=lifespan)


@app.exception_handler(DatabaseDown)
async def database_down(request: Request, exc: DatabaseDown) -> JSONResponse:
    return JSONResponse({"detail": exc.cause}, status_code=503, headers={"Retry-After": "2"})


class NewPlayer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=80)]


class NewPayout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: Annotated[int, Field(ge=1, le=1_000_000)]


def player(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "balance_cents": row[2],
            "created_at": row[3].isoformat()}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": VERSION}


@app.get("/health/db")
async def health_db(request: Request) -> dict[str, str]:
    await request.app.state.db.run("SELECT 1")
    return {"status": "ok", "database": "ok", "version": VERSION}


@app.post("/players", status_code=201)
async def create_player(body: NewPlayer, request: Request) -> dict[str, Any]:
    rows = await request.app.state.db.run(
        "INSERT INTO players (name) VALUES (%s) "
        "RETURNING id, name, balance_cents, created_at", (body.name,))
    return player(rows[0])


@app.get("/players/{player_id}")
async def get_player(player_id: PlayerId, request: Request) -> dict[str, Any]:
    rows = await request.app.state.db.run(
        "SELECT id, name, balance_cents, created_at FROM players WHERE id = %s",
        (player_id,))
    if not rows:
        raise HTTPException(404, f"player {player_id} not found")
    return player(rows[0])


@app.post("/players/{player_id}/payouts", status_code=201)
async def pay(player_id: PlayerId, body: NewPayout, request: Request) -> dict[str, Any]:
    # One statement: the payout row and the balance change commit together or not at all.
    rows = await request.app.state.db.run(
        "WITH p AS (UPDATE players SET balance_cents = balance_cents + %s WHERE id = %s "
        "RETURNING id, name, balance_cents, created_at), "
        "pay AS (INSERT INTO payouts (player_id, amount_cents) "
        "SELECT id, %s FROM p RETURNING id) "
        "SELECT p.id, p.name, p.balance_cents, p.created_at, pay.id FROM p, pay",
        (body.amount_cents, player_id, body.amount_cents))
    if not rows:
        raise HTTPException(404, f"player {player_id} not found")
    return {"payout_id": rows[0][4], "player": player(rows[0])}
