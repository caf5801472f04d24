"""The Fn socket handshake.

The agent watches the socket directory with inotify and dials as soon as `lsnr.sock` is
created. So the socket must already be listening, with its final mode, when that name
appears: bind a phony name, chmod 0666 (the agent runs as another user), listen, and only
then publish it with a relative symlink in the same directory.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

UNIX_PREFIX = "unix:"
# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


class ListenerError(Exception):
    """FN_LISTENER is missing or unusable; the message says why."""


class ListenerPaths:
    __slots__ = ("listener", "phony")

    def __init__(self, listener: Path, phony: Path) -> None:
        self.listener = listener  # what the agent dials: lsnr.sock
        self.phony = phony  # where we really bind: phonylsnr.sock, same directory

    @classmethod
    def from_env_value(cls, value: str | None) -> ListenerPaths:
        if not value:
            raise ListenerError(
                "FN_LISTENER is not set: `fastfn serve` runs under the Fn platform "
                "(use `fastfn dev` to run a service locally)"
            )
        if not value.startswith(UNIX_PREFIX):
            raise ListenerError(f"FN_LISTENER must start with 'unix:', got {value!r}")
        path = Path(value.removeprefix(UNIX_PREFIX))
        if not path.is_absolute():
            raise ListenerError(f"FN_LISTENER must be an absolute path, got {value!r}")
        phony = path.with_name("phony" + path.name)
        if len(os.fsencode(phony)) > MAX_SOCKET_PATH:
            raise ListenerError(f"socket path {phony} is longer than {MAX_SOCKET_PATH} bytes")
        return cls(listener=path, phony=phony)


def _remove_stale(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(mode) or stat.S_ISLNK(mode):
        path.unlink()
    else:
        raise ListenerError(f"{path} exists and is not a socket or symlink; refusing to remove it")


def bind(paths: ListenerPaths, backlog: int = 128) -> socket.socket:
    """Bind and listen on the phony socket. Nothing is visible to the agent yet."""
    if not paths.listener.parent.is_dir():
        raise ListenerError(f"socket directory {paths.listener.parent} does not exist")
    _remove_stale(paths.listener)
    _remove_stale(paths.phony)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(paths.phony))
        os.chmod(paths.phony, 0o666)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def publish(paths: ListenerPaths) -> None:
    """Make the listening socket visible: the agent dials on this symlink's CREATE."""
    os.symlink(paths.phony.name, paths.listener)


def remove(paths: ListenerPaths) -> None:
    for path in (paths.listener, paths.phony):
        with contextlib.suppress(ListenerError, OSError):
            _remove_stale(path)
