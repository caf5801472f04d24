"""The items service (examples/items) on the local Fn platform behind the local gateway,
against the session's real PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import pytest_asyncio

from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute, GatewayServer
from fastfn.localcloud.fn.platform import FnPlatform
from fastfn.localcloud.postgres import DatabaseLogin

from support.fn import short_socket_root
from support.images import image_base, image_cloud, image_phases  # noqa: F401  (image tests)
from support.items import items_function


@pytest.fixture(scope="module")
def items_dsn(items_db: DatabaseLogin) -> str:
    return items_db.dsn


@pytest.fixture(scope="module")
def socket_root_module() -> Iterator[Path]:
    root = short_socket_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def items_platform(socket_root_module: Path) -> AsyncIterator[FnPlatform]:
    lines: list[str] = []
    platform = FnPlatform(work_dir=socket_root_module, max_instances=4,
                          log_sink=lambda _n, line: lines.append(line))
    platform.log_lines = lines  # type: ignore[attr-defined]
    yield platform
    await platform.aclose()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def items_client(items_platform: FnPlatform,
                       items_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    spec = items_function(items_dsn)
    server = GatewayServer(Gateway(items_platform, [GatewayRoute("/v1", spec)]))
    async with server, httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def clean_items(items_dsn: str, postgres_running) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(items_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('items') IS NOT NULL").fetchone()
        if exists and exists[0]:
            conn.execute("TRUNCATE items, item_idempotency_keys RESTART IDENTITY")
