"""The seed-002 example (examples/triviapay-api) as `fastfn serve --http` runs it on a VM:
a real process on PORT against the session's real PostgreSQL."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fastfn.localcloud.postgres import LocalPostgres
from fastfn.localcloud.process import Supervised, accepts_tcp

from support.pools import free_port

TRIVIAPAY = Path(__file__).resolve().parents[2] / "examples" / "triviapay-api"


@pytest.fixture(scope="module")
def triviapay_dsn(postgres: LocalPostgres) -> str:
    return postgres.ensure_database("triviapay", "triviapay_user",
                                    secrets.token_urlsafe(16)).dsn


@pytest.fixture(scope="module")
def api(triviapay_dsn: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "APP_VERSION": "7",
           "DATABASE_URL": "env:TRIVIAPAY_DATABASE_URL",
           "TRIVIAPAY_DATABASE_URL": triviapay_dsn, "FASTFN_DRAIN_DELAY": "0"}
    lines: list[str] = []
    process = Supervised("triviapay", [sys.executable, "-m", "fastfn", "serve", "main:app",
                                       "--http"], env=env, cwd=str(TRIVIAPAY),
                         on_line=lambda _n, line: lines.append(line))
    process.start()
    try:
        process.wait_ready(accepts_tcp("127.0.0.1", port), timeout=30)
        process.log_lines = lines  # type: ignore[attr-defined]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()
    assert not any(triviapay_dsn.split("@")[0].split(":")[-1] in line for line in lines)


def test_health_and_db_health(api: str) -> None:
    assert httpx.get(api + "/health").json() == {"status": "ok", "version": "7"}
    got = httpx.get(api + "/health/db")
    assert got.status_code == 200 and got.json()["database"] == "ok"


def test_players_and_payouts(api: str) -> None:
    created = httpx.post(api + "/players", json={"name": "  Ada "})
    assert created.status_code == 201
    player = created.json()
    assert player["name"] == "Ada" and player["balance_cents"] == 0
    paid = httpx.post(api + f"/players/{player['id']}/payouts", json={"amount_cents": 250})
    assert paid.status_code == 201 and paid.json()["player"]["balance_cents"] == 250
    again = httpx.get(api + f"/players/{player['id']}")
    assert again.json()["balance_cents"] == 250
    assert httpx.get(api + "/players/999999999").status_code == 404
    assert httpx.post(api + "/players/999999999/payouts",
                      json={"amount_cents": 1}).status_code == 404


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/players", {"name": ""}, "name"),
    ("/players", {"name": "x", "admin": True}, "admin"),
    ("/players/1/payouts", {"amount_cents": 0}, "amount_cents"),
    ("/players/1/payouts", {"amount_cents": "lots"}, "amount_cents"),
    ("/players/0/payouts", {"amount_cents": 5}, "player_id"),
])
def test_bad_input_is_a_422_naming_the_field(api: str, path: str, body: object,
                                             field: str) -> None:
    got = httpx.post(api + path, json=body)
    assert got.status_code == 422
    assert any(field in err["loc"] for err in got.json()["detail"])


def test_database_down_is_a_503_naming_the_cause(api: str,
                                                 postgres_running: LocalPostgres) -> None:
    postgres_running.stop()
    try:
        got = httpx.get(api + "/health/db", timeout=15)
        assert got.status_code == 503
        assert got.json()["detail"].startswith("database unreachable")
        assert got.headers["retry-after"] == "2"
        assert httpx.post(api + "/players", json={"name": "b"}, timeout=15).status_code == 503
        assert httpx.get(api + "/health").status_code == 200  # the LB keeps it: it is up
    finally:
        postgres_running.start()
    assert httpx.get(api + "/health/db", timeout=15).status_code == 200
