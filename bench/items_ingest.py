"""Seed 001's items service: rows per second through the Fn agent path vs raw psycopg.

Run by hand:  .venv/bin/python bench/items_ingest.py [--rounds 3]

Everything is measured in the same run against one real PostgreSQL (fastfn.localcloud):
  raw pooled insert  psycopg_pool, one autocommitted INSERT ... RETURNING the row per call,
                     fetched, sequential (the anchor for single-row POST /items)
  raw COPY           one COPY of BATCH rows per transaction (the anchor for /items/batch)
  POST /items        the items function on the local Fn platform, called as the agent calls
                     it (POST /call over the unix socket), sequential on one warm instance
  POST /items x8     8 callers at once over 8 warm instances
  POST /items/batch  BATCH rows per call
The single-row pair alternates in blocks of BLOCK calls (so load on the machine falls on
both alike); the other cases run in interleaved rounds. Medians are printed with the ratios
the issue sets targets for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fastfn.localcloud.fn.platform import FnPlatform, FunctionSpec  # noqa: E402
from fastfn.localcloud.fn.service import function_spec  # noqa: E402
from fastfn.localcloud.postgres import LocalPostgres  # noqa: E402
from fastfn.manifest import load  # noqa: E402

SINGLE_ROWS = 1000
BLOCK = 50
BATCH = 5000
BATCH_CALLS = 4
CONCURRENCY = 8

SCHEMA = """CREATE TABLE IF NOT EXISTS items (id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL,
description TEXT, created_at TIMESTAMPTZ DEFAULT NOW())"""


def gateway_call(method: str, path: str) -> list[tuple[str, str]]:
    return [("Fn-Http-Method", method), ("Fn-Http-Request-Url", f"/v1{path}"),
            ("Content-Type", "application/json")]


async def raw_pooled_inserts(pool: AsyncConnectionPool, rows: int) -> float:
    started = time.perf_counter()
    for n in range(rows):
        async with pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO items (name, description) VALUES (%s, %s) "
                "RETURNING id, name, description, created_at", (f"raw{n}", "bench"))
            await cur.fetchone()
    return rows / (time.perf_counter() - started)


async def single_row_blocks(platform: FnPlatform, spec: FunctionSpec, dsn: str,
                            blocks: int) -> dict[str, list[float]]:
    """The anchor and POST /items in alternate blocks of BLOCK rows."""
    results: dict[str, list[float]] = {"raw pooled insert": [], "POST /items": []}
    async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True}) as pool:
        await pool.wait()
        for _ in range(blocks):
            results["raw pooled insert"].append(await raw_pooled_inserts(pool, BLOCK))
            results["POST /items"].append(await fn_sequential(platform, spec, BLOCK))
    return results


async def raw_copy(dsn: str) -> float:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        started = time.perf_counter()
        for call in range(BATCH_CALLS):
            async with conn.transaction(), conn.cursor() as cur, cur.copy(
                    "COPY items (name, description) FROM STDIN") as copy:
                for n in range(BATCH):
                    await copy.write_row((f"copy{call}-{n}", None))
        return BATCH * BATCH_CALLS / (time.perf_counter() - started)


async def fn_sequential(platform: FnPlatform, spec: FunctionSpec, rows: int) -> float:
    started = time.perf_counter()
    for n in range(rows):
        response = await platform.invoke(spec, json.dumps({"name": f"fn{n}",
                                                           "description": "bench"}).encode(),
                                         gateway_call("POST", "/items"))
        assert response.header("Fn-Http-Status") == "201", response.body[:200]
    return rows / (time.perf_counter() - started)


async def fn_concurrent(platform: FnPlatform, spec: FunctionSpec) -> float:
    per_caller = SINGLE_ROWS // CONCURRENCY

    async def caller(c: int) -> None:
        for n in range(per_caller):
            body = json.dumps({"name": f"c{c}-{n}", "description": "bench"}).encode()
            response = await platform.invoke(spec, body, gateway_call("POST", "/items"))
            assert response.header("Fn-Http-Status") == "201", response.body[:200]

    started = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in range(CONCURRENCY)))
    return per_caller * CONCURRENCY / (time.perf_counter() - started)


async def warm_up(platform: FnPlatform, spec: FunctionSpec) -> None:
    for width in range(1, CONCURRENCY + 1):
        bodies = [json.dumps({"name": f"warm{width}-{c}"}).encode() for c in range(width)]
        responses = await asyncio.gather(*(
            platform.invoke(spec, body, gateway_call("POST", "/items")) for body in bodies))
        for response in responses:
            assert response.header("Fn-Http-Status") == "201", response.body[:200]


async def fn_batch(platform: FnPlatform, spec: FunctionSpec) -> float:
    bodies = [json.dumps({"items": [{"name": f"b{call}-{n}"} for n in range(BATCH)]}).encode()
              for call in range(BATCH_CALLS)]
    started = time.perf_counter()
    for body in bodies:
        response = await platform.invoke(spec, body, gateway_call("POST", "/items/batch"))
        assert response.header("Fn-Http-Status") == "201", response.body[:200]
    return BATCH * BATCH_CALLS / (time.perf_counter() - started)


async def main(rounds: int) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="fastfn-bench-pg-"))
    postgres = LocalPostgres(data_dir)
    try:
        postgres.start()
        login = postgres.ensure_database("items", "librarian_user", secrets.token_urlsafe(16))
        with psycopg.connect(login.dsn, autocommit=True) as conn:
            conn.execute(SCHEMA)
        service = ROOT / "examples" / "items"
        spec = function_spec(service, load(service).resolve(), app_name="bench",
                             extra_config={"ITEMS_DATABASE_URL": login.dsn,
                                           "FASTFN_LOG_LEVEL": "WARNING"})
        platform = FnPlatform(max_instances=CONCURRENCY, log_sink=lambda _n, _l: None)
        try:
            # Warm every instance the concurrent case will use, one more at a time: eight
            # cold starts at once on a loaded 2-core machine pass the agent's 5 s limit.
            await warm_up(platform, spec)
            results = await single_row_blocks(platform, spec, login.dsn,
                                              rounds * SINGLE_ROWS // BLOCK)
            cases: dict[str, Callable[[], Awaitable[float]]] = {
                f"POST /items x{CONCURRENCY}": lambda: fn_concurrent(platform, spec),
                "raw COPY": lambda: raw_copy(login.dsn),
                "POST /items/batch": lambda: fn_batch(platform, spec),
            }
            results.update({name: [] for name in cases})
            for _ in range(rounds):
                for name, case in cases.items():
                    results[name].append(await case())
                    with psycopg.connect(login.dsn, autocommit=True) as conn:
                        conn.execute("TRUNCATE items, item_idempotency_keys RESTART IDENTITY")
        finally:
            await platform.aclose()
    finally:
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"\nitems ingestion, {rounds} interleaved rounds, medians (rows/s)")
    for name, value in medians.items():
        values = results[name]
        shown = values if len(values) <= 6 else [min(values), max(values)]
        spread = (" - " if len(values) > 6 else ", ").join(f"{v:,.0f}" for v in shown)
        print(f"  {name:<20} {value:>10,.0f}   [{spread}]")
    single = medians["POST /items"] / medians["raw pooled insert"]
    batch = medians["POST /items/batch"] / medians["raw COPY"]
    print(f"\nPOST /items / raw pooled insert = {single:.2f} (target >= 0.5)")
    print(f"POST /items/batch / raw COPY     = {batch:.2f} (target >= 0.5)")
    print(f"POST /items x{CONCURRENCY} / POST /items        = "
          f"{medians[f'POST /items x{CONCURRENCY}'] / medians['POST /items']:.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args().rounds)))
