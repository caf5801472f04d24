"""LocalPostgres and LocalPgBouncer against the real servers."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fastfn.localcloud.postgres import (
    DatabaseLogin,
    LocalPgBouncer,
    LocalPostgres,
    LocalPostgresError,
)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _pid_exists(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fastfn-pgtest-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_items_database_is_owned_by_librarian_user(items_db: DatabaseLogin) -> None:
    with psycopg.connect(items_db.dsn) as conn:
        user, db, owner = conn.execute(
            "SELECT current_user, current_database(), pg_get_userbyid(datdba) "
            "FROM pg_database WHERE datname = current_database()").fetchone()
        public_ok = conn.execute(
            "SELECT has_schema_privilege('public', 'USAGE')"
            " AND has_schema_privilege('public', 'CREATE')").fetchone()[0]
    assert (user, db, owner) == ("librarian_user", "items", "librarian_user")
    assert public_ok


def test_server_listens_on_loopback_with_socket_in_data_dir(postgres: LocalPostgres) -> None:
    with psycopg.connect(postgres.admin_login.dsn) as conn:
        addr, sockets = conn.execute(
            "SELECT inet_server_addr()::text, current_setting('unix_socket_directories')"
        ).fetchone()
    assert addr in ("127.0.0.1/32", "127.0.0.1")
    assert sockets == str(postgres.data_dir)
    assert (postgres.data_dir / f".s.PGSQL.{postgres.port}").is_socket()


def test_stop_refuses_connections_and_start_brings_data_back(
        postgres_running: LocalPostgres, items_db: DatabaseLogin) -> None:
    pg = postgres_running
    with psycopg.connect(items_db.dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS survives (v text)")
        conn.execute("INSERT INTO survives VALUES ('before stop')")
    pid = pg._process.pid if pg._process else -1

    pg.stop()
    assert not pg.is_running()
    assert not _pid_exists(pid)
    assert not _accepts(pg.port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(items_db.dsn, connect_timeout=2)

    began = time.perf_counter()
    pg.start()
    elapsed = time.perf_counter() - began
    assert pg.is_running()
    assert elapsed < 5, f"start took {elapsed:.2f} s"
    with psycopg.connect(items_db.dsn) as conn:
        rows = conn.execute("SELECT v FROM survives").fetchall()
        conn.execute("DROP TABLE survives")
    assert rows == [("before stop",)]


def test_stop_ends_open_sessions(postgres_running: LocalPostgres,
                                 items_db: DatabaseLogin) -> None:
    conn = psycopg.connect(items_db.dsn)
    try:
        conn.execute("SELECT 1")
        postgres_running.stop()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()
    postgres_running.start()


def test_restart_keeps_port_and_dsn(postgres_running: LocalPostgres,
                                    items_db: DatabaseLogin) -> None:
    port = postgres_running.port
    postgres_running.restart()
    assert postgres_running.port == port
    with psycopg.connect(items_db.dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_new_object_reuses_an_initialized_data_dir(scratch_dir: Path) -> None:
    with LocalPostgres(scratch_dir) as first:
        password_before = first.superuser_password
        login = first.ensure_database("keep", "keeper", "pw-1")
        with psycopg.connect(login.dsn) as conn:
            conn.execute("CREATE TABLE t (v int)")
            conn.execute("INSERT INTO t VALUES (42)")
    version_file = scratch_dir / "pgdata" / "PG_VERSION"
    created = version_file.stat().st_mtime_ns

    with LocalPostgres(scratch_dir) as second:
        assert second.superuser_password == password_before
        again = second.login("keeper", "pw-1", "keep")
        with psycopg.connect(again.dsn) as conn:
            assert conn.execute("SELECT v FROM t").fetchall() == [(42,)]
    assert version_file.stat().st_mtime_ns == created


def test_ensure_database_is_idempotent_and_sets_the_password(
        postgres: LocalPostgres) -> None:
    awkward = "p@ss:/word 'with\" quotes%"
    first = postgres.ensure_database("ledger", "ledger_user", awkward)
    second = postgres.ensure_database("ledger", "ledger_user", awkward)
    assert first == second
    assert "with" not in repr(first)
    with psycopg.connect(first.dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("ledger_user",)

    changed = postgres.ensure_database("ledger", "ledger_user", "another")
    with psycopg.connect(changed.dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(first.dsn, connect_timeout=2)


def test_bad_password_is_refused(items_db: DatabaseLogin) -> None:
    wrong = DatabaseLogin(items_db.host, items_db.port, items_db.dbname, items_db.user,
                          items_db.password + "x")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong.dsn, connect_timeout=2)


def test_a_taken_port_is_replaced_when_the_port_was_not_given(scratch_dir: Path) -> None:
    pg = LocalPostgres(scratch_dir)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", pg.port))
        squatter.listen()
        taken = pg.port
        with pg:
            assert pg.port != taken
            with psycopg.connect(pg.admin_login.dsn) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_taken_given_port_is_a_clear_error(scratch_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        pg = LocalPostgres(scratch_dir, port=port)
        with pytest.raises(LocalPostgresError, match=f"could not listen on 127.0.0.1:{port}"):
            pg.start()
        assert not pg.is_running()


def test_ensure_database_needs_a_running_server(scratch_dir: Path) -> None:
    pg = LocalPostgres(scratch_dir)
    with pytest.raises(LocalPostgresError, match="start"):
        pg.ensure_database("x", "y", "z")


# -- pgbouncer -------------------------------------------------------------------------------


def test_pgbouncer_pools_per_transaction(pgbouncer: LocalPgBouncer,
                                         items_db: DatabaseLogin) -> None:
    through = items_db.via(pgbouncer.port)
    with psycopg.connect(through.dsn, prepare_threshold=None, autocommit=True) as first:
        for n in range(10):  # parameterized queries, repeatedly, without prepared statements
            assert first.execute("SELECT %s::int + 1", (n,)).fetchone() == (n + 1,)
        backend = first.execute("SELECT pg_backend_pid()").fetchone()[0]
        # `first` is still connected, yet a second client gets the same server connection:
        # pooling is per transaction (session mode would have to open another one).
        with psycopg.connect(through.dsn, prepare_threshold=None, autocommit=True) as second:
            assert second.execute("SELECT pg_backend_pid()").fetchone()[0] == backend
            assert second.execute("SELECT current_user").fetchone() == ("librarian_user",)


def test_pgbouncer_refuses_a_bad_password(pgbouncer: LocalPgBouncer,
                                          items_db: DatabaseLogin) -> None:
    wrong = pgbouncer.login(items_db.user, "not-the-password", items_db.dbname)
    # pgbouncer checks the SCRAM proof itself: "SASL authentication failed".
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(wrong.dsn, prepare_threshold=None, connect_timeout=2)


def test_pgbouncer_serves_again_after_postgres_restarts(
        postgres_running: LocalPostgres, items_db: DatabaseLogin, scratch_dir: Path) -> None:
    pgbouncer = LocalPgBouncer(postgres_running, work_dir=scratch_dir, query_wait_timeout=1)
    pgbouncer.start()
    dsn = items_db.via(pgbouncer.port).dsn
    with psycopg.connect(dsn, prepare_threshold=None) as conn:  # pgbouncer has seen the user
        conn.execute("SELECT 1")
    postgres_running.stop()
    began = time.monotonic()
    # Either the login waits for a server (connect_timeout) or the query does
    # (query_wait_timeout): both fail, within bounded time.
    with (pytest.raises(psycopg.OperationalError),
          psycopg.connect(dsn, prepare_threshold=None, connect_timeout=3) as conn):
        conn.execute("SELECT 1")
    assert time.monotonic() - began < pgbouncer.query_wait_timeout + 5
    postgres_running.start()
    deadline = time.monotonic() + 10
    while True:  # pgbouncer retries the server every server_login_retry (1 s)
        try:
            with psycopg.connect(dsn, prepare_threshold=None, connect_timeout=3) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    pgbouncer.stop()


def test_pgbouncer_stop_really_stops(postgres: LocalPostgres, items_db: DatabaseLogin,
                                     scratch_dir: Path) -> None:
    bouncer = LocalPgBouncer(postgres, work_dir=scratch_dir)
    bouncer.start()
    pid = bouncer._process.pid if bouncer._process else -1
    with psycopg.connect(items_db.via(bouncer.port).dsn, prepare_threshold=None) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    bouncer.stop()
    assert not _pid_exists(pid)
    assert not _accepts(bouncer.port)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the data dir to `postgres`")
def test_unreachable_data_dir_is_a_clear_error(scratch_dir: Path) -> None:
    closed = scratch_dir / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(LocalPostgresError, match="not reachable by the OS user"):
        LocalPostgres(closed / "pg").start()
