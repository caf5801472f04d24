"""Where a POST /items call spends, beside the raw pooled insert it is compared with.

Run by hand:  .venv/bin/python bench/items_profile.py [--calls 2000]

Two parts, one real PostgreSQL, the items function warm on the local Fn platform:
1. CPU per call of each process (this process: the agent side or the raw client; the
   function; the PostgreSQL backends), read from /proc, for POST /items and for the raw
   pooled insert of bench/items_ingest.py, in alternate blocks of BLOCK calls. Wall time
   beyond the sum is waiting: wake-ups between processes, and the CPU other work on the
   machine takes.
2. The function under cProfile (bench/apps/profiled_serve.py, switched on after warm-up):
   its own time grouped by package, per call. cProfile inflates Python-heavy code more
   than C calls, so read shares, not microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import pstats
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

from fastfn.localcloud.fn.platform import FnPlatform, FunctionSpec
from fastfn.localcloud.fn.service import function_spec
from fastfn.localcloud.postgres import LocalPostgres
from fastfn.manifest import load
from items_ingest import SCHEMA, gateway_call

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "examples" / "items"
PROFILED = Path(__file__).parent / "apps" / "profiled_serve.py"
USER = "librarian_user"
BLOCK = 100  # the two cases alternate in blocks of this many calls
COLUMNS = ("wall", "client", "function", "postgres")
GROUPS = ("psycopg_pool", "psycopg", "fastapi", "starlette", "pydantic", "fastfn/runtime",
          "examples/items", "asyncio", "json", "logging", "opentelemetry")


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backends_cpu(dsn: str) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = %s AND pid <> "
            "pg_backend_pid()", (USER,))]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            total += process_cpu(pid)
    return total


def function_pid() -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.endswith(PROFILED.name.encode()) for part in argv):
                return int(entry.name)
    raise RuntimeError("the profiled function process is not running")


async def post(platform: FnPlatform, spec: FunctionSpec, calls: int) -> None:
    body = json.dumps({"name": "profile", "description": "bench"}).encode()
    for _ in range(calls):
        response = await platform.invoke(spec, body, gateway_call("POST", "/items"))
        assert response.header("Fn-Http-Status") == "201", response.body[:200]


async def raw(pool: AsyncConnectionPool, calls: int) -> None:
    for _ in range(calls):
        async with pool.connection() as conn:
            cur = await conn.execute("INSERT INTO items (name, description) VALUES (%s, %s) "
                                     "RETURNING id, name, description, created_at",
                                     ("raw", "bench"))
            await cur.fetchone()


def grouped(path: Path, calls: int) -> list[tuple[str, float]]:
    stats = pstats.Stats(str(path))
    groups: collections.Counter[str] = collections.Counter()
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~":
            group = f"C: {name[:40]}"
        else:
            group = next((g for g in GROUPS if g in filename), "other Python")
        groups[group] += own
    total = sum(groups.values())
    return [(name, value / total) for name, value in groups.most_common()] + \
        [("total (profiled) us/call", total / calls * 1e6)]


async def main(calls: int) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="fastfn-bench-pg-"))
    out = Path(tempfile.mkdtemp(prefix="fastfn-bench-profile-")) / "items.prof"
    postgres = LocalPostgres(data_dir)
    try:
        postgres.start()
        login = postgres.ensure_database("items", USER, secrets.token_urlsafe(16))
        with psycopg.connect(login.dsn, autocommit=True) as conn:
            conn.execute(SCHEMA)
        spec = function_spec(SERVICE, load(SERVICE).resolve(), app_name="bench",
                             extra_config={"ITEMS_DATABASE_URL": login.dsn,
                                           "FASTFN_LOG_LEVEL": "WARNING",
                                           "PROFILE_OUT": str(out)})
        spec = dataclasses.replace(spec, command=[sys.executable, str(PROFILED), spec.app])
        platform = FnPlatform(max_instances=1, log_sink=lambda _n, _l: None)
        try:
            await post(platform, spec, 300)
            pid = function_pid()
            cpu: dict[str, dict[str, float]] = {}
            async with AsyncConnectionPool(login.dsn, min_size=1, max_size=1, open=False,
                                           kwargs={"autocommit": True}) as pool:
                await pool.wait()
                await raw(pool, 300)
                for _ in range(calls // BLOCK):
                    for name, case in (("POST /items", lambda: post(platform, spec, BLOCK)),
                                       ("raw pooled insert", lambda: raw(pool, BLOCK))):
                        before = (time.perf_counter(), own_cpu(), process_cpu(pid),
                                  backends_cpu(login.dsn))
                        await case()
                        after = (time.perf_counter(), own_cpu(), process_cpu(pid),
                                 backends_cpu(login.dsn))
                        row = cpu.setdefault(name, dict.fromkeys(COLUMNS, 0.0))
                        for key, a, b in zip(COLUMNS, after, before, strict=True):
                            row[key] += (a - b) / (calls // BLOCK * BLOCK) * 1e6
            os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(0.2)
            await post(platform, spec, calls)
            os.kill(pid, signal.SIGUSR2)
            for _ in range(50):
                if out.exists():
                    break
                await asyncio.sleep(0.1)
        finally:
            await platform.aclose()
        profile = grouped(out, calls)
    finally:
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(out.parent, ignore_errors=True)

    print(f"\nper call, {calls} sequential calls each (us; client = this process: the "
          "agent side for POST, psycopg for raw)")
    print(f"  {'':<20} {'wall':>7} {'client':>7} {'function':>9} {'postgres':>9} "
          f"{'waiting':>9}")
    for name, row in cpu.items():
        rest = row["wall"] - row["client"] - row["function"] - row["postgres"]
        print(f"  {name:<20} {row['wall']:>7.0f} {row['client']:>7.0f} "
              f"{row['function']:>9.0f} {row['postgres']:>9.0f} {rest:>9.0f}")
    ratio = cpu["raw pooled insert"]["wall"] / cpu["POST /items"]["wall"]
    print(f"  POST /items / raw pooled insert (calls/s) = {ratio:.2f}")
    print("\nthe function's own time under cProfile, by package (share of its profiled time)")
    for name, share in profile[:-1][:16]:
        print(f"  {name:<44} {share * 100:5.1f}%")
    print(f"  {profile[-1][0]:<44} {profile[-1][1]:5.0f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args().calls)))
