"""What LocalPostgres and LocalPgBouncer share: logins, binaries, the OS user they run as,
private files, and one loopback server with port retry and stop-at-exit."""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from fastfn.localcloud.process import Supervised

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
    _process: Supervised | None

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
        return self._process is not None and self._process.alive

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
        process.stop(timeout, sig)
        self._process = None
        with contextlib.suppress(Exception):
            atexit.unregister(self._stop_quietly)
        return True

    def _stop_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()



class _PortTaken(Exception):
    pass



def supervised(name: str, argv: list[str], log_fd: int, run_as: _RunAs,
               parent_death_signal: int) -> Supervised:
    """A server process writing to its log file, as the OS user it runs as, in its own
    session (Ctrl-C in the terminal reaches us, not it; stop() and the exit hook shut it
    down in order), signalled by the kernel if we die first."""
    kwargs = run_as.popen_kwargs()
    env = kwargs.pop("env", None)
    process = Supervised(name, argv, env=env, output=log_fd, popen_kwargs=kwargs,
                         parent_death_signal=parent_death_signal)
    process.start()
    return process
