"""PostgreSQL access for the items service: schema, inserts, reads. No HTTP here."""

from __future__ import annotations

import hashlib
import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from psycopg import AsyncConnection
from psycopg.rows import dict_row

# The seed's table, unchanged, so its verification query `SELECT * FROM items` works.
SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id SERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    created_at TIMESTAMPTZ DEFAULT NOW()
);
-- A retried POST with the same Idempotency-Key returns the row the first one created.
CREATE TABLE IF NOT EXISTS item_idempotency_keys (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
"""
# Serialises concurrent cold starts migrating the same database.
MIGRATION_LOCK = 0x17E45


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    description: str | None
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "created_at": self.created_at.isoformat()}


class Connections(Protocol):
    """Where connections come from: the service's Database, or a psycopg_pool pool."""

    def connection(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


async def migrate(conn: AsyncConnection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(SCHEMA)


def request_hash(name: str, description: str | None) -> str:
    return hashlib.sha256(json.dumps([name, description]).encode()).hexdigest()


async def insert_item(pool: Connections, name: str, description: str | None,
                      idempotency_key: str | None = None) -> tuple[Item, bool]:
    """Insert one row; (item, replayed). With a key, a retry returns the original row."""
    if idempotency_key is None:
        # One autocommitted statement is atomic by itself: no BEGIN/COMMIT round trips.
        async with pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "INSERT INTO items (name, description) VALUES (%s, %s) "
                "RETURNING id, name, description, created_at", (name, description))
            return Item(**(await cur.fetchone())), False  # type: ignore[arg-type]
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        digest = request_hash(name, description)
        # A concurrent insert of the same key waits here until the first transaction
        # commits, then sees its row: one row however many retries race.
        await cur.execute(
            "SELECT k.request_hash, i.id, i.name, i.description, i.created_at "
            "FROM item_idempotency_keys k JOIN items i ON i.id = k.item_id WHERE k.key = %s",
            (idempotency_key,))
        existing = await cur.fetchone()
        if existing is None:
            await cur.execute(
                "INSERT INTO items (name, description) VALUES (%s, %s) "
                "RETURNING id, name, description, created_at", (name, description))
            row = await cur.fetchone()
            assert row is not None
            await cur.execute(
                "INSERT INTO item_idempotency_keys (key, request_hash, item_id) "
                "VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING key",
                (idempotency_key, digest, row["id"]))
            if await cur.fetchone() is not None:
                return Item(**row), False
            # Lost the race: undo our row by rolling back, then read the winner's.
            raise _LostRace
        if existing.pop("request_hash") != digest:
            raise IdempotencyConflict
        return Item(**existing), True


class _LostRace(Exception):
    pass


async def insert_item_once(pool: Connections, name: str, description: str | None,
                           idempotency_key: str | None) -> tuple[Item, bool]:
    try:
        return await insert_item(pool, name, description, idempotency_key)
    except _LostRace:
        # Our transaction rolled back (nothing half-written); the winner's row is committed.
        return await insert_item(pool, name, description, idempotency_key)


async def insert_batch(pool: Connections, rows: list[tuple[str, str | None]],
                       return_ids: bool = False) -> tuple[list[int] | None, datetime]:
    """All or nothing, by COPY. Ids are reserved from the sequence first only when asked:
    that costs more than the COPY itself (about 4 us a row here)."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor()
        ids: list[int] | None = None
        if return_ids:
            await cur.execute(
                "SELECT nextval(pg_get_serial_sequence('items', 'id')) "
                "FROM generate_series(1, %s)", (len(rows),))
            ids = [row[0] for row in await cur.fetchall()]
        await cur.execute("SELECT now()")
        created_at = (await cur.fetchone())[0]  # type: ignore[index]
        if ids is None:
            async with cur.copy("COPY items (name, description) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        else:
            async with cur.copy("COPY items (id, name, description) FROM STDIN") as copy:
                for item_id, (name, description) in zip(ids, rows, strict=True):
                    await copy.write_row((item_id, name, description))
        return ids, created_at


async def get_item(pool: Connections, item_id: int) -> Item | None:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT id, name, description, created_at FROM items WHERE id = %s", (item_id,))
        row = await cur.fetchone()
        return Item(**row) if row else None


async def list_items(pool: Connections, after: int, limit: int) -> list[Item]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT id, name, description, created_at FROM items WHERE id > %s "
            "ORDER BY id LIMIT %s", (after, limit))
        return [Item(**row) for row in await cur.fetchall()]


async def ping(pool: Connections) -> None:
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")
