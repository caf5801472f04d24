"""The items service at the edges of its input and output (issue 14): invalid input of any
bytes is a 422 naming the field, and a page never exceeds the 6 MB Fn response limit."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

pytestmark = [
    pytest.mark.usefixtures("clean_items"),
    pytest.mark.asyncio(loop_scope="module"),
]

FN_RESPONSE_LIMIT = 6 * 1024 * 1024


@pytest.mark.parametrize("body,field", [
    (b'{"name":"\\ud800"}', "name"),
    (b'{"name":"ok","description":"a\\udfffb"}', "description"),
    (b'{"name":"ok","\\ud800":1}', "body"),  # the key itself is not text
    (b'{"name":"\xff\xfe"}', "body"),
    (b'\xc3\x28', "body"),
    (b'{"name":"a\\u0000b"}', "name"),
    (b'{"name":"' + b"\\ud800" * 200_000 + b'"}', "name"),
    (b'{"name":"ok","description":"' + b"x" * 3_000_000 + b'"}', "description"),
    (b'{"name":"ok","' + b"k" * 100_000 + b'":1}', "k" * 200 + "..."),
])
async def test_invalid_input_of_any_bytes_is_a_small_422_naming_the_field(
    items_client: httpx.AsyncClient, body: bytes, field: str
):
    response = await items_client.post("/v1/items", content=body,
                                       headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text[:500]
    reply = json.loads(response.content.decode("utf-8"))
    assert field in [str(part) for part in reply["detail"][0]["loc"]]
    assert len(response.content) < 4096  # nothing of the input echoed back


async def test_full_pages_of_the_largest_items_stay_under_the_limit_and_skip_nothing(
    items_client: httpx.AsyncClient, items_dsn: str
):
    # Half plain 10,000-character descriptions, half control characters: 6 bytes each once
    # JSON-escaped, 60 KB per item, 15 MB for 500 of them.
    async with await psycopg.AsyncConnection.connect(items_dsn, autocommit=True) as conn:
        async with conn.cursor() as cur, cur.copy(
                "COPY items (name, description) FROM STDIN") as copy:
            for n in range(500):
                await copy.write_row((f"big{n}", ("d" if n % 2 else "\x01") * 10_000))
        ids = [r[0] for r in await (await conn.execute(
            "SELECT id FROM items ORDER BY id")).fetchall()]
    seen: list[int] = []
    after, pages = 0, 0
    while True:
        response = await items_client.get("/v1/items", params={"limit": 500, "after": after})
        assert response.status_code == 200, response.text[:300]
        assert len(response.content) <= FN_RESPONSE_LIMIT
        page = response.json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        assert all(len(item["description"]) == 10_000 for item in page["items"])
        if page["next_after"] is None:
            break
        assert page["next_after"] == page["items"][-1]["id"]
        after = page["next_after"]
    assert seen == ids  # every item once, in order
    assert pages >= 3
    # A page that holds every remaining item still ends with next_after = null.
    small = (await items_client.get("/v1/items", params={"limit": 5,
                                                         "after": ids[-3]})).json()
    assert [item["id"] for item in small["items"]] == ids[-2:]
    assert small["next_after"] is None


@pytest.mark.parametrize("content_type,body", [
    ("text/plain", b'{"name":"ok"}'),
    (None, b'{"name":"ok"}'),
    ("application/json", b""),
    ("application/x-www-form-urlencoded", b"name=ok"),
])
async def test_a_body_that_is_not_json_is_a_422_on_body(
    items_client: httpx.AsyncClient, items_dsn: str, content_type: str | None, body: bytes
):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await items_client.post("/v1/items", content=body, headers=headers)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"][0]["loc"][0] == "body"
    async with await psycopg.AsyncConnection.connect(items_dsn) as conn:
        assert (await (await conn.execute("SELECT count(*) FROM items")).fetchone()) == (0,)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json"])
async def test_json_media_types_with_parameters_are_accepted(
    items_client: httpx.AsyncClient, content_type: str
):
    response = await items_client.post("/v1/items", content=b'{"name":"ok"}',
                                       headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text[:300]
    assert response.json()["name"] == "ok"
