"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.localcloud.postgres import DatabaseLogin, LocalPgBouncer, LocalPostgres

# Deploys to the local cloud build and push the real image by default (minutes cold).
# Tests that are not about images deploy from the source folder; the image tests
# (tests/images, tests/examples/test_*_image.py) drop this to test the default.
os.environ.setdefault("FASTFN_LOCAL_BUILD", "source")

# ==== BEGIN local PostgreSQL fixtures (fastfn.localcloud.postgres) ==========================
# One real PostgreSQL per test session with database `items` owned by `librarian_user`
# (seed 001), and pgbouncer in transaction mode in front of it. A test that stops the
# server must start it again (try/finally) before it returns.

ITEMS_DB = "items"
ITEMS_OWNER = "librarian_user"


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    # Not tmp_path_factory: as root the server runs as `postgres`, which cannot enter
    # pytest's 0700 /tmp/pytest-of-root; a mkdtemp directory's parent (/tmp) is open.
    data_dir = Path(tempfile.mkdtemp(prefix="fastfn-pg-"))
    server = LocalPostgres(data_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def items_db(postgres: LocalPostgres) -> DatabaseLogin:
    """Direct login to database `items` as `librarian_user` (password random per session)."""
    return postgres.ensure_database(ITEMS_DB, ITEMS_OWNER, secrets.token_urlsafe(16))


@pytest.fixture(scope="session")
def pgbouncer(postgres: LocalPostgres, items_db: DatabaseLogin) -> Iterator[LocalPgBouncer]:
    """pgbouncer (transaction mode) in front of `postgres`; `items_db.via(pgbouncer.port)`
    logs in through it. psycopg clients need prepare_threshold=None."""
    with LocalPgBouncer(postgres) as bouncer:
        yield bouncer


@pytest.fixture
def postgres_running(postgres: LocalPostgres) -> Iterator[LocalPostgres]:
    """`postgres`, guaranteed running before and after the test (which may stop it)."""
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.start()


# ==== END local PostgreSQL fixtures =========================================================
