"""A real PostgreSQL (and pgbouncer) for the demo and the tests, started with no manual step.

Uses the server binaries installed on the machine (Debian's `postgresql` package: globbed
under /usr/lib/postgresql/*/bin, then `pg_config --bindir`, then PATH) and `pgbouncer`.

Layout of `data_dir` (one directory holds everything; delete it to start afresh):

    data_dir/pgdata/             PGDATA, created by initdb on first start and reused after
    data_dir/superuser.password  the `postgres` superuser's password (random, mode 0600)
    data_dir/postgres.log        server log
    data_dir/.s.PGSQL.<port>     the unix socket (not /var/run, which needs root)
    data_dir/pgbouncer/          LocalPgBouncer's config, auth file, log and socket

Both servers refuse to run as root. When this process is root they run as the `postgres`
OS user (the process is started with that uid, gid and groups, like `runuser -u postgres`
but without an intermediate process, so the pid we hold is the server's), and `data_dir`
is handed to that user. Then every parent directory of `data_dir` must be searchable by
it: pytest's tmp_path (under a 0700 /tmp/pytest-of-root) is not; a `tempfile.mkdtemp()`
directory itself is (in /tmp, and handed over), a directory inside it is not.

Authentication is SCRAM-SHA-256 for every connection, TCP and unix socket: the superuser
has a random password, roles created by `ensure_database` have the one given. Servers
listen on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

log = logging.getLogger("fastfn.localcloud.postgres")

HOST = "127.0.0.1"
SUPERUSER = "postgres"
OS_USER = "postgres"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
_POLL_INTERVAL = 0.005
# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_ADDRESS_IN_USE = ("could not bind", "Address already in use", "could not create any TCP/IP")


class LocalPostgresError(RuntimeError):
    """A local PostgreSQL or pgbouncer could not be set up, started or stopped."""


@dataclass(frozen=True)
class DatabaseLogin:
    """Where and as whom to connect. The password stays out of repr; `dsn` contains it."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)

    @property
    def dsn(self) -> str:
        return _url(self.user, self.password, self.host, self.port, self.dbname)

    def via(self, port: int) -> DatabaseLogin:
        """The same login through another endpoint on the same host (e.g. pgbouncer)."""
        return replace(self, port=port)


# -- binaries and OS user -------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


def find_postgres_bindir() -> Path:
    """The directory holding initdb and postgres: newest Debian version, pg_config, PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            if out:
                candidates.append(out)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        bindir = Path(candidate)
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise LocalPostgresError(
        "PostgreSQL server binaries (initdb, postgres) not found: install the Debian "
        "package `postgresql` (scripts/setup.sh does it when run as root)"
    )


def find_pgbouncer() -> Path:
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise LocalPostgresError(
        "pgbouncer not found: install the Debian package `pgbouncer` "
        "(scripts/setup.sh does it when run as root)"
    )


@dataclass(frozen=True)
class _RunAs:
    """The OS identity the servers run as: ourselves, or `postgres` when we are root."""

    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] = ()
    home: str | None = None

    @classmethod
    def for_servers(cls, os_user: str) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(os_user)
        except KeyError:
            raise LocalPostgresError(
                f"running as root, and PostgreSQL refuses to run as root; the OS user "
                f"{os_user!r} to run it as does not exist (the Debian package `postgresql` "
                f"creates it)"
            ) from None
        groups = tuple(os.getgrouplist(os_user, entry.pw_gid))
        return cls(entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)

    @property
    def switches(self) -> bool:
        return self.uid is not None

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.switches:
            return {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["HOME"] = self.home or "/"
        name = pwd.getpwuid(self.uid).pw_name if self.uid is not None else ""
        env["USER"] = env["LOGNAME"] = name
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups),
                "env": env}

    def own(self, path: Path) -> None:
        """Hand a file or directory we created to the server's user."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def check_reachable(self, path: Path) -> None:
        """Fail clearly when a parent directory is not searchable by the server's user."""
        if not self.switches:
            return
        for parent in reversed(path.resolve().parents):
            st = parent.stat()
            mode = st.st_mode
            if st.st_uid == self.uid:
                allowed = bool(mode & stat.S_IXUSR)
            elif st.st_gid in self.groups or st.st_gid == self.gid:
                allowed = bool(mode & stat.S_IXGRP)
            else:
                allowed = bool(mode & stat.S_IXOTH)
            if not allowed:
                owner = _user_name(st.st_uid)
                raise LocalPostgresError(
                    f"{path} is not reachable by the OS user the server runs as "
                    f"({_user_name(self.uid)}): {parent} is mode {stat.S_IMODE(mode):o} owned "
                    f"by {owner}. Use a directory whose parents are searchable, e.g. one "
                    f"made by tempfile.mkdtemp() (itself, not a directory inside it)."
                )


def _user_name(uid: int | None) -> str:
    if uid is None:
        return "?"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


# -- small helpers ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (the caller retries if it is taken later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _url(user: str, password: str, host: str, port: int, dbname: str) -> str:
    return (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{host}:{port}/{quote(dbname, safe='')}")


def _accepts_tcp(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def _log_tail(path: Path, lines: int = 15) -> str:
    return _log_since(path, 0, lines)


def _log_since(path: Path, offset: int, lines: int = 15) -> str:
    """The last `lines` lines a server wrote to its log after byte `offset`."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (zombies hold no sockets or files)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The state follows the parenthesised command name, which may contain spaces.
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _stop_process(process: subprocess.Popen[bytes], sig: signal.Signals, what: str,
                  timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s of %s; killing it", what, timeout, sig.name)
        process.kill()
        process.wait(5)


def _write_private(path: Path, text: str, run_as: _RunAs) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    run_as.own(path)


def _make_private_dir(path: Path, run_as: _RunAs) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    run_as.own(path)


# -- PostgreSQL ------------------------------------------------------------------------------


class _LoopbackServer:
    """What PostgreSQL and pgbouncer share: one process on 127.0.0.1:port, moved to a fresh
    port when an automatically chosen one turns out to be taken, stopped at exit."""

    _what = "server"  # names the server in messages
    port: int
    _port_given: bool
    _stop_at_exit: bool
    _process: subprocess.Popen[bytes] | None

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    def start(self, timeout: float = START_TIMEOUT) -> None:
        raise NotImplementedError

    def _start_once(self, timeout: float) -> None:
        raise NotImplementedError

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        raise NotImplementedError

    def login(self, user: str, password: str, dbname: str) -> DatabaseLogin:
        return DatabaseLogin(HOST, self.port, dbname, user, password)

    def dsn(self, user: str, password: str, dbname: str) -> str:
        """A libpq URL (postgresql://user:password@127.0.0.1:port/dbname). It holds a secret."""
        return _url(user, password, HOST, self.port, dbname)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def restart(self) -> None:
        self.stop()
        self.start()

    def _start_on_a_free_port(self, timeout: float,
                              before_each: Callable[[], None] | None = None) -> None:
        attempts = 1 if self._port_given else 3
        for attempt in range(attempts):
            if before_each is not None:
                before_each()
            try:
                self._start_once(timeout)
                break
            except _PortTaken:
                if attempt == attempts - 1:
                    raise LocalPostgresError(
                        f"{self._what} could not listen on {HOST}:{self.port}:\n"
                        f"{_log_tail(self.log_file)}"
                    ) from None
                self.port = free_port()
        if self._stop_at_exit:
            atexit.register(self._stop_quietly)

    def _stop_with(self, sig: signal.Signals, timeout: float) -> bool:
        """Signal the process and wait for it to exit; False if it was not running."""
        process = self._process
        if process is None:
            return False
        _stop_process(process, sig, self._what, timeout)
        self._process = None
        with contextlib.suppress(Exception):
            atexit.unregister(self._stop_quietly)
        return True

    def _stop_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


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
        self._process: subprocess.Popen[bytes] | None = None

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
            # A new session: Ctrl-C in the terminal reaches us, not the server; stop() and
            # the exit hook shut it down in order.
            self._process = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
                start_new_session=True, **self._run_as.popen_kwargs())
        finally:
            os.close(log_fd)
        process = self._process
        deadline = began + timeout
        while True:
            if process.poll() is not None:
                self._process = None
                tail = _log_since(self.log_file, log_offset)
                if any(marker in tail for marker in _ADDRESS_IN_USE):
                    raise _PortTaken
                raise LocalPostgresError(
                    f"PostgreSQL exited with status {process.returncode} while starting:\n{tail}"
                )
            if self._postmaster_ready(process.pid):
                break
            if time.perf_counter() > deadline:
                _stop_process(process, signal.SIGQUIT, "PostgreSQL", 5)
                self._process = None
                raise LocalPostgresError(
                    f"PostgreSQL did not become ready within {timeout:.0f} s:\n"
                    f"{_log_since(self.log_file, log_offset)}"
                )
            time.sleep(_POLL_INTERVAL)
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
        if not _pid_alive(pid):
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
        while _pid_alive(pid):
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


class _PortTaken(Exception):
    pass


# -- pgbouncer ---------------------------------------------------------------------------------


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
        self._process: subprocess.Popen[bytes] | None = None

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
            process = subprocess.Popen(
                [str(self.binary), "-q", str(self.config_file)], stdin=subprocess.DEVNULL,
                stdout=log_fd, stderr=log_fd, start_new_session=True,
                **self._run_as.popen_kwargs())
        finally:
            os.close(log_fd)
        self._process = process
        deadline = began + timeout
        while not _accepts_tcp(self.port):
            if process.poll() is not None:
                self._process = None
                detail = _log_since(self.log_file, offset)
                if any(marker in detail for marker in _ADDRESS_IN_USE):
                    raise _PortTaken
                raise LocalPostgresError(
                    f"pgbouncer exited with status {process.returncode} while starting:\n"
                    f"{detail.strip()}"
                )
            if time.perf_counter() > deadline:
                _stop_process(process, signal.SIGKILL, "pgbouncer", 5)
                self._process = None
                raise LocalPostgresError(f"pgbouncer did not listen within {timeout:.0f} s")
            time.sleep(_POLL_INTERVAL)
        log.info("pgbouncer started",
                 extra={"port": self.port, "pid": process.pid,
                        "ms": round((time.perf_counter() - began) * 1000, 1)})

    def reload(self) -> None:
        """Re-read users (e.g. after ensure_database created one) and config (SIGHUP)."""
        self._write_auth_file()
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Immediate shutdown (SIGTERM): client connections are closed."""
        self._stop_with(signal.SIGTERM, timeout)


def _quote_auth(text: str) -> str:
    # pgbouncer's auth file doubles a double quote inside a quoted field.
    return text.replace('"', '""')
