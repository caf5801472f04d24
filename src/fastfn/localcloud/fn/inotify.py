"""Watch a directory for a name to be created, as the Fn agent does for lsnr.sock (Linux)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import os
import struct
from pathlib import Path

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class DirectoryWatch:
    """An inotify watch on one directory for CREATE and MOVED_TO events."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(directory), IN_CREATE | IN_MOVED_TO)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"inotify_add_watch {directory}: {os.strerror(err)}")

    def _read_names(self) -> list[str]:
        try:
            data = os.read(self.fd, 64 * 1024)
        except BlockingIOError:
            return []
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return []
            raise
        names = []
        offset = 0
        while offset < len(data):
            _wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size
            names.append(data[offset : offset + length].rstrip(b"\0").decode())
            offset += length
        return names

    async def wait_for(self, name: str, timeout: float) -> None:
        """Return as soon as `name` is created in the directory; TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        created = loop.create_future()

        def on_readable() -> None:
            if name in self._read_names() and not created.done():
                created.set_result(None)

        loop.add_reader(self.fd, on_readable)
        try:
            # It may have been created before the watch was in place.
            if (self.directory / name).is_symlink() or (self.directory / name).exists():
                return
            await asyncio.wait_for(created, timeout)
        finally:
            loop.remove_reader(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> DirectoryWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
