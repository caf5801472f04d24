"""The items service while its database is down: every call a fast 503 with Retry-After
for the whole outage, a cold start that is ready well inside the agent's 5 s, and
recovery without a restart (issue 14). Real PostgreSQL stopped and started again."""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg
import pytest

from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute, GatewayServer
from fastfn.localcloud.fn.platform import INIT_TIMEOUT_S

from support.items import items_function

pytestmark = [
    pytest.mark.usefixtures("clean_items"),
    pytest.mark.asyncio(loop_scope="module"),
]

CALLS = 20
# Past the ~2 s after which each call used to wait 3 s for the pool.
OUTAGE_AGE_S = 2.5
# Per-call pool waits would take CALLS * 3 s = 60 s; fast 503s take well under 1 s here.
CALLS_WALL_BOUND_S = 8.0


async def mixed_calls(client: httpx.AsyncClient) -> list[httpx.Response]:
    responses = []
    for n in range(CALLS):
        match n % 4:
            case 0:
                responses.append(await client.post("/v1/items", json={"name": f"down{n}"}))
            case 1:
                responses.append(await client.get("/v1/items"))
            case 2:
                responses.append(await client.get("/v1/items/1"))
            case _:
                responses.append(await client.get("/v1/health"))
    return responses


async def test_every_call_of_a_long_outage_is_a_fast_503_then_it_recovers(
    items_client: httpx.AsyncClient, items_dsn: str, postgres, items_platform
):
    assert (await items_client.get("/v1/health")).status_code == 200
    started = len(items_platform.started_instances)
    await asyncio.to_thread(postgres.stop)
    try:
        early = await mixed_calls(items_client)
        await asyncio.sleep(OUTAGE_AGE_S)
        began = time.perf_counter()
        late = await mixed_calls(items_client)
        late_wall = time.perf_counter() - began
    finally:
        await asyncio.to_thread(postgres.start)
    for response in [*early, *late]:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
    assert late_wall < CALLS_WALL_BOUND_S, late_wall
    assert (await items_client.get("/v1/health")).status_code == 200
    again = await items_client.post("/v1/items", json={"name": "after"})
    assert again.status_code == 201
    assert len(items_platform.started_instances) == started  # no restart needed
    async with await psycopg.AsyncConnection.connect(items_dsn) as conn:
        names = [r[0] for r in await (await conn.execute("SELECT name FROM items")).fetchall()]
    assert names == ["after"]


async def test_cold_start_with_the_database_down_is_ready_fast_and_answers_503(
    items_platform, items_dsn: str, postgres
):
    spec = items_function(items_dsn)
    spec.fn_id, spec.fn_name = spec.fn_id + "-cold-down", "items-cold-down"
    server = GatewayServer(Gateway(items_platform, [GatewayRoute("/v1", spec)]))
    async with server, httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await asyncio.to_thread(postgres.stop)
        try:
            began = time.perf_counter()
            first = await client.post("/v1/items", json={"name": "cold"})
            first_s = time.perf_counter() - began
            instance = next(i for i in items_platform.started_instances
                            if i.spec.fn_id == spec.fn_id)
            assert first.status_code == 503 and first.headers["retry-after"]
            # The agent gives up at 5 s; it used to take 3.7 s (first answer 6.6-7.3 s).
            # "Well inside" the limit, with room for a loaded machine (2.5 s seen on one).
            assert instance.ready_s < 0.7 * INIT_TIMEOUT_S, instance.ready_s
            assert first_s < INIT_TIMEOUT_S, first_s
            assert (await client.get("/v1/health")).status_code == 503
        finally:
            await asyncio.to_thread(postgres.start)
        # The probe also migrates now (it never could): a call arriving during that may
        # still get its fast 503, so retry as a client honouring Retry-After would.
        deadline = time.perf_counter() + 10
        while (created := await client.post("/v1/items", json={"name": "warm now"})
               ).status_code == 503 and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        assert created.status_code == 201, "\n".join(items_platform.log_lines[-15:])
        assert [i.spec.fn_id for i in items_platform.started_instances].count(spec.fn_id) == 1
