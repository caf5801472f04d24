"""The items service's database: a small pool, plus what the service knows about an outage.

While the database is known to be down, no request touches the pool: each one fails at
once with DatabaseUnavailable (a 503), and ONE background probe connects directly every
PROBE_INTERVAL_S until the database answers, migrates the schema if that never happened,
refreshes the pool and lets requests through again. Nothing restarts.

An outage becomes known when
- the pool gives up reconnecting: with reconnect_timeout=0 psycopg_pool tries a new
  connection twice, then calls `reconnect_failed` (psycopg_pool/pool_async.py,
  `_add_connection`); requests already waiting for a connection are cut short then,
  instead of waiting for the pool's own timeout;
- a request's statement fails on a lost connection or on a server shutting down;
- a request waits for a connection longer than CONNECT_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from types import TracebackType
from typing import Any

import psycopg
import store
from psycopg_pool import AsyncConnectionPool, PoolTimeout

log = logging.getLogger("items.database")

PROBE_INTERVAL_S = 0.5
# A request during an outage joins the probe's attempt under way, or starts one (one at a
# time), and waits this long for it: a database that is down refuses at once, so its 503
# is fast. An attempt that has already connected (the database is back) is waited for to
# the end, so the first request after recovery succeeds even when migrating is slow.
REQUEST_PROBE_WAIT_S = 0.08
# A probe that neither connects nor fails within this is counted as a failure.
PROBE_TIMEOUT_S = 2.0
# SQLSTATE classes that mean the server is going away, not that a statement was wrong:
# 08 connection exceptions, 57P01-57P03 admin/crash shutdown and "cannot connect now".
OUTAGE_SQLSTATES = ("08", "57P")


class DatabaseUnavailable(Exception):
    pass


def is_outage(exc: BaseException) -> bool:
    """Whether an error from a request means the database is down (not a bad statement)."""
    if isinstance(exc, DatabaseUnavailable | PoolTimeout):
        return True
    if isinstance(exc, psycopg.OperationalError):
        sqlstate = exc.sqlstate
        return sqlstate is None or sqlstate.startswith(OUTAGE_SQLSTATES)
    return False


# A connection returned healthy this recently is not pinged again before reuse: the ping is
# a round trip per request. Older ones are, so after a database restart stale connections
# are replaced instead of failing a request. The lease records the return itself: a pool
# `reset` callback would do it too, but with one the pool hands every returned connection
# to a worker task, about 90 us a request here.
FRESH_S = 2.0
_returned_at: weakref.WeakKeyDictionary[psycopg.AsyncConnection, float] = \
    weakref.WeakKeyDictionary()


async def check_unless_fresh(conn: psycopg.AsyncConnection) -> None:
    if time.monotonic() - _returned_at.pop(conn, 0.0) > FRESH_S:
        await AsyncConnectionPool.check_connection(conn)


class Database:
    """The pool, the outage state, and the probe that ends an outage."""

    def __init__(self, dsn: str, connect_kwargs: dict[str, Any], *,
                 connect_timeout_s: float) -> None:
        self._dsn = dsn  # a secret: never logged
        self._connect_kwargs = connect_kwargs
        self.connect_timeout_s = connect_timeout_s
        # One function instance handles one call at a time: two connections are plenty.
        self.pool = AsyncConnectionPool(
            dsn, min_size=1, max_size=2, open=False, kwargs=connect_kwargs,
            check=check_unless_fresh, timeout=connect_timeout_s,
            reconnect_timeout=0, reconnect_failed=self._reconnect_failed, name="items",
        )
        self.migrated = False
        self.down_since: float | None = None
        self._waiters: set[asyncio.Timeout] = set()
        self._probe: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._attempt: asyncio.Future[bool] | None = None  # the probe attempt under way
        self._attempt_connected = False  # the attempt under way reached the database

    async def open(self, wait_s: float) -> None:
        """Open the pool and migrate, waiting at most `wait_s`: past that (or on any
        outage) the service starts anyway, answers 503 and the probe takes over."""
        await self.pool.open(wait=False)
        try:
            async with asyncio.timeout(wait_s):
                async with self.connection() as conn:
                    await store.migrate(conn)
            self.migrated = True
        except (TimeoutError, psycopg.OperationalError, PoolTimeout,
                DatabaseUnavailable) as exc:
            log.warning("database unavailable at start-up (%s); probing in the background",
                        type(exc).__name__)
            self.mark_down(type(exc).__name__)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.pool.close()

    def connection(self) -> _Lease:
        """`async with db.connection() as conn`: a pooled connection, or DatabaseUnavailable
        at once while the database is known down."""
        return _Lease(self)

    def mark_down(self, reason: str) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("database down (%s): answering 503 until the probe reconnects",
                        reason)
        now = asyncio.get_running_loop().time()
        for waiter in self._waiters:
            waiter.reschedule(now)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_until_up(), name="items-db-probe")

    def _reconnect_failed(self, _pool: AsyncConnectionPool) -> None:
        self.mark_down("pool could not reconnect")

    async def up_after_probe(self) -> bool:
        """During an outage: whether the database answers now, waiting at most
        REQUEST_PROBE_WAIT_S for the probe's current (or a new) attempt."""
        attempt = self._attempt
        if attempt is None:
            attempt = self._attempt = asyncio.get_running_loop().create_future()
            self._wake.set()
        try:
            async with asyncio.timeout(REQUEST_PROBE_WAIT_S):
                await asyncio.shield(attempt)
        except TimeoutError:
            if not self._attempt_connected:
                return False
            try:  # the database answered this attempt: it is back, finishing up
                async with asyncio.timeout(2 * PROBE_TIMEOUT_S):
                    await asyncio.shield(attempt)
            except TimeoutError:
                return False
        return self.down_since is None

    async def _probe_until_up(self) -> None:
        attempts = 0
        while True:
            if self._attempt is None:
                try:
                    async with asyncio.timeout(PROBE_INTERVAL_S):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            self._wake.clear()
            if self._attempt is None:
                self._attempt = asyncio.get_running_loop().create_future()
            attempts += 1
            began = time.monotonic()
            self._attempt_connected = False
            up = await self._try_once(attempts)
            attempt, self._attempt = self._attempt, None
            if up:
                assert self.down_since is not None
                log.warning("database back after %.1f s (%d probes, the last %.0f ms)",
                            time.monotonic() - self.down_since, attempts,
                            (time.monotonic() - began) * 1000)
                self.down_since = None
            attempt.set_result(up)
            if up:
                return

    async def _try_once(self, attempt: int) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                conn = await psycopg.AsyncConnection.connect(self._dsn, **self._connect_kwargs)
                self._attempt_connected = True
                async with conn:
                    if self.migrated:
                        await conn.execute("SELECT 1")
                    else:
                        await store.migrate(conn)
        except (TimeoutError, OSError, psycopg.Error) as exc:
            log.debug("probe %d: database still down (%s)", attempt, type(exc).__name__)
            return False
        self.migrated = True
        try:
            # Drops the connections the outage broke; the pool refills in the background.
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self.pool.check()
        except (TimeoutError, psycopg.Error) as exc:
            log.warning("pool refresh after the outage: %s", type(exc).__name__)
        return True


class _Lease:
    """What `pool.connection()` does, with the outage short-cut and a wait that an outage
    cuts short. A class rather than an asynccontextmanager: it is on every request."""

    __slots__ = ("_conn", "_db")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: psycopg.AsyncConnection | None = None

    async def __aenter__(self) -> psycopg.AsyncConnection:
        db = self._db
        if db.down_since is not None and not await db.up_after_probe():
            raise DatabaseUnavailable("database down")
        waiter = asyncio.timeout(db.connect_timeout_s)
        db._waiters.add(waiter)
        try:
            async with waiter:
                self._conn = await db.pool.getconn()
        except TimeoutError as exc:
            raise DatabaseUnavailable("no connection in time") from exc
        finally:
            db._waiters.discard(waiter)
        return self._conn

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        conn = self._conn
        assert conn is not None
        try:
            # The connection's own exit: commit or roll back (it stays open: it is pooled).
            await conn.__aexit__(exc_type, exc, tb)
            if exc_type is None or not issubclass(exc_type, psycopg.OperationalError):
                _returned_at[conn] = time.monotonic()
        finally:
            await self._db.pool.putconn(conn)
