"""LocalPostgres: a PostgreSQL server on 127.0.0.1 with its data in one directory."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from fastfn.localcloud.postgres.base import (
    _ADDRESS_IN_USE,
    _MAX_SOCKET_PATH,
    _POLL_INTERVAL,
    HOST,
    OS_USER,
    START_TIMEOUT,
    STOP_TIMEOUT,
    SUPERUSER,
    DatabaseLogin,
    LocalPostgresError,
    _log_since,
    _LoopbackServer,
    _make_private_dir,
    _PortTaken,
    _RunAs,
    _write_private,
    find_postgres_bindir,
    free_port,
    supervised,
)
from fastfn.localcloud.process import ProcessStartError, Supervised, pid_alive

log = logging.getLogger("fastfn.localcloud.postgres")


class LocalPostgres(_LoopbackServer):
    """A PostgreSQL server on 127.0.0.1 with its data in `data_dir`.

    `port=None` picks a free port once; it then stays the same across stop/start/restart,
    so DSNs handed out remain valid. `settings` are extra server settings (`-c name=value`).
    With `stop_at_exit`, a server still running when the interpreter exits is stopped.
    """

    _what = "PostgreSQL"

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None, *,
                 settings: Mapping[str, str] | None = None, os_user: str = OS_USER,
                 stop_at_exit: bool = True) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._port_given = port is not None
        self.port = port if port is not None else free_port()
        self.settings = dict(settings or {})
        self.bindir = find_postgres_bindir()
        self._run_as = _RunAs.for_servers(os_user)
        self._stop_at_exit = stop_at_exit
        self._process: Supervised | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"LocalPostgres({str(self.data_dir)!r}, port={self.port}, {state})"

    # paths

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def _password_file(self) -> Path:
        return self.data_dir / "superuser.password"

    @property
    def socket_dir(self) -> Path | None:
        """Where the unix socket is, or None when the path would be too long for one."""
        if len(str(self.data_dir / f".s.PGSQL.{self.port}.lock")) > _MAX_SOCKET_PATH:
            return None
        return self.data_dir

    # credentials

    @property
    def superuser_password(self) -> str:
        try:
            return self._password_file.read_text().strip()
        except FileNotFoundError:
            raise LocalPostgresError(f"{self.data_dir} is not initialized yet") from None

    @property
    def admin_login(self) -> DatabaseLogin:
        return self.login(SUPERUSER, self.superuser_password, "postgres")

    # lifecycle

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file() and self._password_file.is_file()

    def init(self) -> None:
        """Create the cluster (initdb) unless `data_dir` already holds one."""
        if self.initialized():
            return
        if (self.data_dir / "PG_VERSION").exists():
            raise LocalPostgresError(
                f"{self.data_dir} is a PGDATA directory itself; pass its parent as data_dir"
            )
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise LocalPostgresError(
                f"{self.pgdata} exists and is not empty but is not an initialized cluster "
                f"made by fastfn; remove {self.data_dir} to start afresh"
            )
        self._run_as.check_reachable(self.data_dir)
        _make_private_dir(self.data_dir, self._run_as)
        _write_private(self._password_file, secrets.token_urlsafe(24) + "\n", self._run_as)
        began = time.perf_counter()
        # --no-sync: a local cloud's cluster can be recreated; an OS crash right after
        # initdb is the only case it loses anything, and it saves most of initdb's time.
        command = [str(self.bindir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER,
                   "--pwfile", str(self._password_file), "--auth=scram-sha-256",
                   "--encoding=UTF8", "--no-locale", "--no-sync"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                **self._run_as.popen_kwargs())
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise LocalPostgresError("initdb failed:\n" + "\n".join(output))
        log.info("initialized PostgreSQL cluster",
                 extra={"pgdata": str(self.pgdata),
                        "ms": round((time.perf_counter() - began) * 1000, 1)})

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server (initializing the cluster first if needed); return when it is
        ready to accept connections."""
        if self.is_running():
            return
        self.init()
        self._stop_leftover_server()
        self._start_on_a_free_port(timeout)

    def _command(self) -> list[str]:
        settings = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir or ""),
            # The log goes to stderr, which we point at log_file.
            "logging_collector": "off",
            **self.settings,
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.pgdata)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        return command

    def _start_once(self, timeout: float) -> None:
        began = time.perf_counter()
        log_fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._run_as.own(self.log_file)
            log_offset = os.fstat(log_fd).st_size
            # SIGQUIT (immediate shutdown) if we die: the server's children exit with it.
            process = supervised("postgres", self._command(), log_fd, self._run_as,
                                 signal.SIGQUIT)
        finally:
            os.close(log_fd)
        self._process = process
        try:
            process.wait_ready(lambda: self._postmaster_ready(process.pid), timeout,
                               _POLL_INTERVAL)
        except ProcessStartError as exc:
            self._process = None
            tail = _log_since(self.log_file, log_offset)
            if exc.timed_out:
                raise LocalPostgresError(
                    f"PostgreSQL did not become ready within {timeout:.0f} s:\n{tail}") from None
            if any(marker in tail for marker in _ADDRESS_IN_USE):
                raise _PortTaken from None
            raise LocalPostgresError(
                f"PostgreSQL exited with status {exc.returncode} while starting:\n{tail}"
            ) from None
        log.info("PostgreSQL started",
                 extra={"port": self.port, "pid": process.pid,
                        "ms": round((time.perf_counter() - began) * 1000, 1)})

    def _postmaster_ready(self, pid: int) -> bool:
        # postmaster.pid: line 1 the pid, line 8 the status, "ready" once it accepts
        # connections (PostgreSQL >= 10). Same check as `pg_ctl -w`, polled 20x as often.
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return (len(lines) >= 8 and lines[0].strip() == str(pid)
                and lines[7].strip() == "ready")

    def _stop_leftover_server(self) -> None:
        """A server left running on this data dir (by a process that died) is stopped."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if not pid_alive(pid):
            return  # a stale lock file; postgres handles it itself
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return
        if not cmdline or not cmdline[0].endswith(b"postgres"):
            return
        log.warning("stopping a PostgreSQL left running on this data dir",
                    extra={"pid": pid, "pgdata": str(self.pgdata)})
        os.kill(pid, signal.SIGINT)
        self._wait_gone(pid, STOP_TIMEOUT)

    @staticmethod
    def _wait_gone(pid: int, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while pid_alive(pid):
            if time.perf_counter() > deadline:
                raise LocalPostgresError(f"PostgreSQL (pid {pid}) did not stop in {timeout:.0f} s")
            time.sleep(_POLL_INTERVAL)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Fast shutdown: open transactions are rolled back, clients disconnected, data
        checkpointed. Returns once the server process has exited."""
        began = time.perf_counter()
        # SIGINT is PostgreSQL's "fast" shutdown (pg_ctl stop -m fast).
        if self._stop_with(signal.SIGINT, timeout):
            log.info("PostgreSQL stopped", extra={
                "port": self.port, "ms": round((time.perf_counter() - began) * 1000, 1)})

    # databases

    def ensure_database(self, name: str, owner: str, password: str) -> DatabaseLogin:
        """Create the login role `owner` (or set its password) and database `name` owned by
        it, idempotently; grant it USAGE and CREATE on schema public (as seed 001 did)."""
        import psycopg
        from psycopg import sql

        if not self.is_running():
            raise LocalPostgresError("ensure_database needs the server running; call start()")
        login = self.login(owner, password, name)
        with psycopg.connect(self.admin_login.dsn, autocommit=True) as admin:
            row = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone()
            if row is None:
                admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(owner), sql.Literal(password)))
                log.info("created role", extra={"role": owner})
            elif not self._password_works(owner, password):
                # Only when it differs: re-setting the same password would change the SCRAM
                # salt, and pgbouncer's copy of the verifier with it.
                admin.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(owner), sql.Literal(password)))
                log.info("updated role password", extra={"role": owner})
            row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (name,)).fetchone()
            if row is None:
                admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner)))
                log.info("created database", extra={"database": name, "owner": owner})
        admin_in_db = self.login(SUPERUSER, self.superuser_password, name)
        with psycopg.connect(admin_in_db.dsn, autocommit=True) as admin_db:
            admin_db.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(
                sql.Identifier(owner)))
        return login

    def _password_works(self, user: str, password: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn(user, password, "postgres"), connect_timeout=5):
                return True
        except psycopg.OperationalError:
            return False

    def scram_verifiers(self) -> dict[str, str]:
        """Login roles (not superusers) and their SCRAM verifiers, for pgbouncer's auth file."""
        import psycopg

        with psycopg.connect(self.admin_login.dsn, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin AND NOT rolsuper"
                " AND rolpassword LIKE 'SCRAM-SHA-256$%%' ORDER BY rolname").fetchall()
        return {name: verifier for name, verifier in rows}


