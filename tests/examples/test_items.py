"""Seed 001's items service end to end: gateway and direct invoke -> local Fn platform ->
the service's process -> real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import psycopg
import pytest

from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute, GatewayServer

from support.items import items_function

pytestmark = [
    pytest.mark.usefixtures("clean_items"),
    pytest.mark.asyncio(loop_scope="module"),
]


async def count_rows(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT count(*) FROM items")
        return (await cur.fetchone())[0]  # type: ignore[index]


async def test_post_through_gateway_is_found_by_the_seeds_verification_query(
    items_client: httpx.AsyncClient, items_dsn: str
):
    response = await items_client.post("/v1/items",
                                       json={"name": "Test", "description": "Test"})
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Test" and created["description"] == "Test"
    assert created["id"] >= 1 and created["created_at"]
    async with await psycopg.AsyncConnection.connect(items_dsn) as conn:
        rows = await (await conn.execute("SELECT * FROM items")).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(created["id"], "Test", "Test")]


async def test_direct_invoke_creates_an_item(items_client: httpx.AsyncClient, items_dsn: str):
    # What `oci fn function invoke --body file://payload.json` sends: a body, no method/path.
    response = await items_client.post(
        "/20181201/functions/items/actions/invoke",
        content=json.dumps({"name": "Direct", "description": "invoke"}),
        headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.headers["fn-http-status"] == "201"
    assert response.json()["name"] == "Direct"
    assert await count_rows(items_dsn) == 1


async def test_get_and_list_with_keyset_pagination(items_client: httpx.AsyncClient):
    ids = []
    for n in range(5):
        ids.append((await items_client.post("/v1/items", json={"name": f"n{n}"})).json()["id"])
    one = await items_client.get(f"/v1/items/{ids[2]}")
    assert one.status_code == 200 and one.json()["name"] == "n2"
    seen, after = [], 0
    for _ in range(5):
        page = (await items_client.get("/v1/items", params={"limit": 2, "after": after})).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == ids


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"name": "ok", "description": "d" * 10_001}, "description"),
    ({"name": "ok", "colour": "red"}, "colour"),
    ({"name": 12}, "name"),
])
async def test_invalid_items_are_422_naming_the_field(items_client: httpx.AsyncClient,
                                                      items_dsn: str, body, field):
    response = await items_client.post("/v1/items", json=body)
    assert response.status_code == 422
    assert field in [str(part) for part in response.json()["detail"][0]["loc"]]
    assert await count_rows(items_dsn) == 0


async def test_malformed_json_unknown_routes_and_bad_ids(items_client: httpx.AsyncClient):
    bad = await items_client.post("/v1/items", content=b"{not json",
                                  headers={"Content-Type": "application/json"})
    assert bad.status_code == 422
    assert (await items_client.get("/v1/nothing-here")).status_code == 404
    assert (await items_client.get("/v1/nothing-here")).json() == {"detail": "Not Found"}
    missing = await items_client.get("/v1/items/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    not_int = await items_client.get("/v1/items/abc")
    assert not_int.status_code == 422 and "item_id" in not_int.json()["detail"][0]["loc"]


async def test_body_over_6mb_is_413(items_client: httpx.AsyncClient):
    response = await items_client.post("/v1/items", content=b"x" * (7 * 1024 * 1024),
                                       headers={"Content-Type": "application/json"})
    assert response.status_code == 413


async def test_batch_is_all_or_nothing(items_client: httpx.AsyncClient, items_dsn: str):
    good = [{"name": f"b{n}", "description": None} for n in range(100)]
    response = await items_client.post("/v1/items/batch", json={"items": good})
    assert response.status_code == 201
    assert response.json()["count"] == 100 and "ids" not in response.json()
    assert await count_rows(items_dsn) == 100
    with_ids = await items_client.post("/v1/items/batch", params={"return_ids": "true"},
                                       json={"items": good[:10]})
    ids = with_ids.json()["ids"]
    assert len(set(ids)) == 10
    async with await psycopg.AsyncConnection.connect(items_dsn) as conn:
        stored = await (await conn.execute(
            "SELECT name FROM items WHERE id = ANY(%s) ORDER BY id", (ids,))).fetchall()
    assert [row[0] for row in stored] == [f"b{n}" for n in range(10)]
    await (await psycopg.AsyncConnection.connect(items_dsn, autocommit=True)).execute(
        "DELETE FROM items WHERE id = ANY(%s)", (ids,))
    bad = [*good, {"name": ""}]
    rejected = await items_client.post("/v1/items/batch", json={"items": bad})
    assert rejected.status_code == 422
    assert rejected.json()["detail"][0]["loc"][:3] == ["body", "items", 100]
    too_many = await items_client.post("/v1/items/batch",
                                       json={"items": [{"name": "x"}] * 5001})
    assert too_many.status_code == 422
    assert await count_rows(items_dsn) == 100


async def test_idempotency_key_under_8_concurrent_retries_gives_one_row(
    items_client: httpx.AsyncClient, items_dsn: str
):
    key = str(uuid.uuid4())
    calls = [items_client.post("/v1/items", json={"name": "once"},
                               headers={"Idempotency-Key": key}) for _ in range(8)]
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert await count_rows(items_dsn) == 1
    other = await items_client.post("/v1/items", json={"name": "different"},
                                    headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert await count_rows(items_dsn) == 1


async def test_database_down_is_503_then_recovers_without_restart(
    items_client: httpx.AsyncClient, items_dsn: str, postgres, items_platform
):
    assert (await items_client.get("/v1/health")).status_code == 200
    started = len(items_platform.started_instances)
    await asyncio.to_thread(postgres.stop)
    try:
        health = await items_client.get("/v1/health")
        assert health.status_code == 503 and health.headers["retry-after"]
        down = await items_client.post("/v1/items", json={"name": "while down"})
        assert down.status_code == 503 and down.headers["retry-after"]
        batch = await items_client.post("/v1/items/batch", json={"items": [{"name": "a"}]})
        assert batch.status_code == 503
    finally:
        await asyncio.to_thread(postgres.start)
    assert (await items_client.get("/v1/health")).status_code == 200
    again = await items_client.post("/v1/items", json={"name": "after"})
    assert again.status_code == 201
    assert len(items_platform.started_instances) == started  # no restart needed
    async with await psycopg.AsyncConnection.connect(items_dsn) as conn:
        names = [r[0] for r in await (await conn.execute("SELECT name FROM items")).fetchall()]
    assert names == ["after"]  # nothing half-written while it was down


async def test_nul_characters_are_invalid_input_not_a_server_error(
    items_client: httpx.AsyncClient,
):
    response = await items_client.post("/v1/items", json={"name": "a\u0000b"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


async def test_through_pgbouncer_in_transaction_mode(items_platform, items_db, pgbouncer,
                                                    items_dsn: str):
    """Seed 001's host runs PgBouncer: the service works through it in transaction mode
    (prepared statements off), including COPY batches and idempotent retries."""
    via_bouncer = items_db.via(pgbouncer.port).dsn
    spec = items_function(via_bouncer, DB_POOL_MODE="transaction")
    spec.fn_id, spec.fn_name = spec.fn_id + "-pgbouncer", "items-pgbouncer"
    server = GatewayServer(Gateway(items_platform, [GatewayRoute("/v1", spec)]))
    async with server, httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for n in range(10):  # more calls than prepare_threshold would allow
            assert (await client.post("/v1/items", json={"name": f"p{n}"})).status_code == 201
        batch = await client.post("/v1/items/batch", json={"items": [{"name": "c"}] * 50})
        assert batch.status_code == 201
        key = {"Idempotency-Key": "bouncer-1"}
        first = await client.post("/v1/items", json={"name": "k"}, headers=key)
        again = await client.post("/v1/items", json={"name": "k"}, headers=key)
        assert first.json()["id"] == again.json()["id"]
        assert (await client.get("/v1/health")).status_code == 200
    assert await count_rows(items_dsn) == 61
