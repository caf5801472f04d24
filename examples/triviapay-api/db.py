"""The API's PostgreSQL: a small async pool opened at start-up without waiting for the
database, and the schema made on first use. The DSN (`DATABASE_URL`) is a secret: it is
never logged nor put in an answer; a failure is described by its class and the server's
first line (which names host and port, never the password)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from fastfn.runtime.secrets import aresolve_env
from fastfn.runtime.secrets.references import is_reference

log = logging.getLogger("triviapay.db")

CONNECT_TIMEOUT_S = 2.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS players (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    balance_cents BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS payouts (
    id BIGSERIAL PRIMARY KEY,
    player_id BIGINT NOT NULL REFERENCES players (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


class DatabaseDown(Exception):
    """The database cannot be reached; `cause` says why, without the DSN."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def describe(exc: BaseException) -> str:
    if isinstance(exc, PoolTimeout | TimeoutError):
        return f"database unreachable: no connection within {CONNECT_TIMEOUT_S:g}s"
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"database unreachable: {type(exc).__name__}: {first}"[:300]


class Database:
    def __init__(self, dsn: str) -> None:
        self.pool = AsyncConnectionPool(
            dsn, min_size=1, max_size=4, open=False, timeout=CONNECT_TIMEOUT_S,
            reconnect_timeout=0, kwargs={"connect_timeout": int(CONNECT_TIMEOUT_S)},
            check=AsyncConnectionPool.check_connection)
        self.migrated = False
        self._lock = asyncio.Lock()

    @classmethod
    async def from_env(cls) -> Database:
        """`DATABASE_URL`: a DSN, or a reference (`vault:<ocid>`, `env:NAME`)."""
        dsn = os.environ.get("DATABASE_URL", "")
        if not dsn:
            raise RuntimeError("DATABASE_URL is not set")
        if is_reference(dsn):
            return cls((await aresolve_env("DATABASE_URL")).reveal())
        return cls(dsn)

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def run(self, sql: str, params: tuple[Any, ...] = (),
                  many: bool = False) -> list[tuple[Any, ...]]:
        """One statement in its own transaction; DatabaseDown when the server is not
        there (a wrong statement is a bug and raises as it is)."""
        try:
            async with self.pool.connection() as conn:
                if not self.migrated:
                    async with self._lock:
                        if not self.migrated:
                            await conn.execute(SCHEMA)
                            self.migrated = True
                cur = await conn.execute(sql, params)
                return await cur.fetchall() if cur.description else []
        except (psycopg.OperationalError, PoolTimeout, TimeoutError) as exc:
            log.warning("database unavailable", extra={"cause": type(exc).__name__})
            raise DatabaseDown(describe(exc)) from None
