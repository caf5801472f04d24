"""LocalPgBouncer: pgbouncer in transaction mode in front of a LocalPostgres."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from fastfn.localcloud.postgres.base import (
    _ADDRESS_IN_USE,
    _MAX_SOCKET_PATH,
    _POLL_INTERVAL,
    HOST,
    START_TIMEOUT,
    STOP_TIMEOUT,
    LocalPostgresError,
    _log_since,
    _LoopbackServer,
    _make_private_dir,
    _PortTaken,
    _write_private,
    find_pgbouncer,
    free_port,
    supervised,
)
from fastfn.localcloud.postgres.server import LocalPostgres
from fastfn.localcloud.process import ProcessStartError, Supervised, accepts_tcp

log = logging.getLogger("fastfn.localcloud.postgres")


class LocalPgBouncer(_LoopbackServer):
    """pgbouncer on 127.0.0.1 in front of a LocalPostgres, in transaction pool mode.

    Clients authenticate with SCRAM-SHA-256 against a copy of the server's own SCRAM
    verifiers (read from pg_authid at start() and reload()), so the same user and password
    work directly and through pgbouncer, a wrong password is refused by both, no plaintext
    password is written to disk, and pgbouncer logs in to the server with the client's
    SCRAM proof. Superusers are not served. Every database name is forwarded to the server.

    In transaction mode a server connection is shared between transactions of different
    clients: psycopg clients must connect with `prepare_threshold=None`.

    While PostgreSQL is down pgbouncer still accepts clients it has seen (it checks their
    password itself) and holds their queries until a server connection comes, for at most
    `query_wait_timeout` seconds, then fails them. pgbouncer's default is 120 s; here it is
    5 s so an outage shows quickly. Services should still bound their own waits.
    """

    _what = "pgbouncer"

    def __init__(self, postgres: LocalPostgres, port: int | None = None, *,
                 work_dir: str | os.PathLike[str] | None = None, pool_size: int = 20,
                 max_client_conn: int = 200, query_wait_timeout: int = 5,
                 stop_at_exit: bool = True) -> None:
        self.postgres = postgres
        self._port_given = port is not None
        self.port = port if port is not None else free_port()
        self.work_dir = Path(work_dir).absolute() if work_dir else postgres.data_dir / "pgbouncer"
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.query_wait_timeout = query_wait_timeout
        self.binary = find_pgbouncer()
        self._run_as = postgres._run_as
        self._stop_at_exit = stop_at_exit
        self._process: Supervised | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"LocalPgBouncer(port={self.port}, postgres port={self.postgres.port}, {state})"

    @property
    def config_file(self) -> Path:
        return self.work_dir / "pgbouncer.ini"

    @property
    def auth_file(self) -> Path:
        return self.work_dir / "users.txt"

    @property
    def log_file(self) -> Path:
        return self.work_dir / "pgbouncer.log"

    def _write_auth_file(self) -> None:
        if self.postgres.is_running():
            verifiers = self.postgres.scram_verifiers()
        elif self.auth_file.is_file():
            return  # keep the last copy; pgbouncer may start before the server comes back
        else:
            raise LocalPostgresError("pgbouncer's first start needs PostgreSQL running "
                                     "(it copies the users' SCRAM verifiers from it)")
        lines = [f'"{_quote_auth(user)}" "{_quote_auth(secret)}"'
                 for user, secret in verifiers.items()]
        _write_private(self.auth_file, "\n".join(lines) + "\n", self._run_as)

    def _socket_dir(self) -> str:
        if len(str(self.work_dir / f".s.PGSQL.{self.port}")) > _MAX_SOCKET_PATH:
            return ""
        return str(self.work_dir)

    def _write_config(self) -> None:
        config = f"""\
[databases]
* = host={HOST} port={self.postgres.port}

[pgbouncer]
listen_addr = {HOST}
listen_port = {self.port}
unix_socket_dir = {self._socket_dir()}
auth_type = scram-sha-256
auth_file = {self.auth_file}
pool_mode = transaction
default_pool_size = {self.pool_size}
max_client_conn = {self.max_client_conn}
logfile = {self.log_file}
pidfile =
server_login_retry = 1
query_wait_timeout = {self.query_wait_timeout}
ignore_startup_parameters = extra_float_digits
"""
        _write_private(self.config_file, config, self._run_as)

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.is_running():
            return
        self._run_as.check_reachable(self.work_dir)
        _make_private_dir(self.work_dir, self._run_as)
        self._write_auth_file()
        self._start_on_a_free_port(timeout, before_each=self._write_config)

    def _start_once(self, timeout: float) -> None:
        began = time.perf_counter()
        log_fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._run_as.own(self.log_file)
            offset = os.fstat(log_fd).st_size
            # -q: pgbouncer logs to its logfile only; stderr catches what it says before
            # it has opened that file.
            process = supervised("pgbouncer", [str(self.binary), "-q", str(self.config_file)],
                                 log_fd, self._run_as, signal.SIGTERM)
        finally:
            os.close(log_fd)
        self._process = process
        try:
            process.wait_ready(accepts_tcp(HOST, self.port), timeout, _POLL_INTERVAL)
        except ProcessStartError as exc:
            self._process = None
            if exc.timed_out:
                raise LocalPostgresError(
                    f"pgbouncer did not listen within {timeout:.0f} s") from None
            detail = _log_since(self.log_file, offset)
            if any(marker in detail for marker in _ADDRESS_IN_USE):
                raise _PortTaken from None
            raise LocalPostgresError(
                f"pgbouncer exited with status {exc.returncode} while starting:\n"
                f"{detail.strip()}"
            ) from None
        log.info("pgbouncer started",
                 extra={"port": self.port, "pid": process.pid,
                        "ms": round((time.perf_counter() - began) * 1000, 1)})

    def reload(self) -> None:
        """Re-read users (e.g. after ensure_database created one) and config (SIGHUP)."""
        self._write_auth_file()
        if self._process is not None and self._process.alive:
            self._process.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Immediate shutdown (SIGTERM): client connections are closed."""
        self._stop_with(signal.SIGTERM, timeout)


def _quote_auth(text: str) -> str:
    # pgbouncer's auth file doubles a double quote inside a quoted field.
    return text.replace('"', '""')
