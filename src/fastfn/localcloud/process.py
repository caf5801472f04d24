"""One supervisor for every process the local cloud (and its benches) starts.

A `Supervised` process is spawned with its own env and cwd in a new session (its own
process group, so a terminal's Ctrl-C reaches us, not it, and a kill reaches its children
too), with `PR_SET_PDEATHSIG` so the kernel signals it when the thread that spawned it
dies: after `kill -9` of `fastfn cloud up` no function instance or database server is left
running (issue 16). Its stdout and stderr lines go to a callback with the process's name
(one pump thread per process), or to a file descriptor the caller gives. Readiness is a
predicate polled (blocking) or an awaitable raced against the process's exit (asyncio);
either way a failure is a `ProcessStartError` carrying the last lines of output. Stopping
is a signal (SIGTERM by default), then SIGKILL to the whole group after a grace period.

One implementation serves blocking and asyncio callers: spawning is a plain fork/exec,
cheap enough for an event loop; exit is awaited through a pidfd on the loop, and the few
blocking waits (the grace period) run on the loop's executor.

A pid file, when given, records pid and kernel start time; the next start with the same
file kills a process that is still that one (a supervisor that was SIGKILLed before the
kernel could signal its children, or one whose children ignored the signal).

Spawn from a long-lived thread: PR_SET_PDEATHSIG fires when the spawning *thread* exits.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import logging
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

log = logging.getLogger("fastfn.localcloud.process")

LineSink = Callable[[str, str], None]  # (process name, line without newline)
PUMP: Final = -100  # `output=PUMP`: each output line goes to `on_line`
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.005
_libc: Any = None


class ProcessStartError(RuntimeError):
    """A process exited, or did not become ready in time, while starting."""

    def __init__(self, message: str, *, returncode: int | None, output: str,
                 timed_out: bool = False) -> None:
        super().__init__(f"{message}\n{output}" if output else message)
        self.returncode = returncode
        self.output = output
        self.timed_out = timed_out  # not ready in time (and killed), rather than exited


def _log_line(name: str, line: str) -> None:
    log.info("%s", line, extra={"process": name})


def _set_parent_death_signal(sig: int, parent: int) -> Callable[[], None]:
    global _libc
    if _libc is None:
        # Loaded before fork: the child only calls into it.
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = _libc.prctl

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return in_child


_spawn_executor: concurrent.futures.ThreadPoolExecutor | None = None
_spawn_lock = threading.Lock()


def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread every child is forked from.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process:
    a child started from a short-lived thread (an HTTP server's per-request thread, a
    worker pool) would be killed as soon as that thread ended. Forking from one thread
    that lives as long as the process ties every child to the process.
    """
    global _spawn_executor
    with _spawn_lock:
        if _spawn_executor is None:
            _spawn_executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="fastfn-spawner")
        return _spawn_executor


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == b"Z":
        return None
    return fields[19].decode()


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (zombies hold no sockets or files)."""
    return _start_time(pid) is not None


def reap_leftover(pid_file: Path, grace_s: float = 2.0) -> bool:
    """Kill the process group a pid file names if that process still runs; True if it did."""
    try:
        pid_text, started = pid_file.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
    if _start_time(pid) != started:
        return False  # gone, or the pid now belongs to another process
    log.warning("killing a process left running by an earlier run",
                extra={"pid": pid, "pid_file": str(pid_file)})
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(_POLL_S)
    return True


def path_exists(path: Path) -> Callable[[], bool]:
    return path.exists


def accepts_tcp(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False
    return check


class Supervised:
    """One supervised process. `start()` may be called again after it exited (restart)."""

    def __init__(self, name: str, argv: Sequence[str], *,
                 env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
                 on_line: LineSink | None = None, output: int | None = PUMP,
                 pid_file: Path | None = None, parent_death_signal: int = signal.SIGKILL,
                 popen_kwargs: Mapping[str, Any] | None = None, tail_lines: int = 20) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.on_line = on_line or _log_line
        self.output = output  # PUMP, an fd for stdout+stderr, subprocess.PIPE or DEVNULL
        self.pid_file = pid_file
        self.parent_death_signal = parent_death_signal
        self.popen_kwargs = dict(popen_kwargs or {})
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.popen: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    # -- state ------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.popen is not None, "not started"
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self) -> str:
        """The last lines the process wrote (pumped output only)."""
        return "\n".join(self._tail)

    # -- start --------------------------------------------------------------------------

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running")
        if self.pid_file is not None:
            reap_leftover(self.pid_file)
        self._tail.clear()
        pumped = self.output == PUMP
        stdout: int | None = subprocess.PIPE if pumped else self.output
        if self.output == subprocess.PIPE:
            stderr: int | None = subprocess.DEVNULL
        else:
            stderr = subprocess.PIPE if pumped else self.output
        kwargs = {"env": self.env, **self.popen_kwargs}
        argv, cwd, death = self.argv, self.cwd, self.parent_death_signal
        self.popen = _spawner().submit(
            lambda: subprocess.Popen(
                argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                start_new_session=True,
                preexec_fn=_set_parent_death_signal(death, os.getpid()), **kwargs)
        ).result()
        if self.pid_file is not None:
            started = _start_time(self.popen.pid) or "0"
            self.pid_file.write_text(f"{self.popen.pid} {started}\n")
        if pumped:
            self._pump = threading.Thread(target=self._pump_lines, name=f"pump-{self.name}",
                                          daemon=True)
            self._pump.start()

    def _pump_lines(self) -> None:
        popen = self.popen
        assert popen is not None and popen.stdout is not None and popen.stderr is not None
        pending = {popen.stdout.fileno(): b"", popen.stderr.fileno(): b""}
        with selectors.DefaultSelector() as selector:
            for fd in pending:
                selector.register(fd, selectors.EVENT_READ)
            while pending:
                for key, _ in selector.select():
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        selector.unregister(fd)
                        if rest := pending.pop(fd):
                            self._emit(rest)
                        continue
                    *lines, pending[fd] = (pending[fd] + chunk).split(b"\n")
                    for line in lines:
                        self._emit(line)
        popen.stdout.close()
        popen.stderr.close()

    def _emit(self, raw: bytes) -> None:
        line = raw.decode(errors="replace").rstrip("\r")
        self._tail.append(line)
        try:
            self.on_line(self.name, line)
        except Exception:  # a broken sink must not stop the pump (the pipe would fill)
            log.exception("log sink failed", extra={"process": self.name})

    def _drain(self, timeout: float = 1.0) -> None:
        """Wait for the pump to have delivered everything the process wrote."""
        if self._pump is not None:
            self._pump.join(timeout)

    def _start_error(self, message: str, timed_out: bool = False) -> ProcessStartError:
        return ProcessStartError(message, returncode=self.returncode, output=self.tail(),
                                 timed_out=timed_out)

    def wait_ready(self, ready: Callable[[], bool], timeout: float,
                   interval: float = _POLL_S) -> None:
        """Block until `ready()` is true; the process exiting first or the timeout is a
        ProcessStartError (the process is killed on timeout)."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive:
                self._drain()
                raise self._start_error(
                    f"{self.name} exited with status {self.returncode} while starting")
            if time.monotonic() > deadline:
                self.kill()
                raise self._start_error(f"{self.name} was not ready within {timeout:g} s",
                                        timed_out=True)
            time.sleep(interval)

    async def await_ready(self, ready: Awaitable[object], timeout: float) -> None:
        """Wait for `ready` (e.g. an inotify CREATE), racing it against the process's exit."""
        readiness = asyncio.ensure_future(ready)
        exited = asyncio.ensure_future(self.wait())
        try:
            done, _ = await asyncio.wait({readiness, exited}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
        if readiness in done:
            try:
                readiness.result()
                return
            except TimeoutError:
                pass  # the awaitable's own timeout: handled below as ours
        else:
            readiness.cancel()
            with contextlib.suppress(BaseException):
                await readiness
            if exited in done:
                await asyncio.get_running_loop().run_in_executor(None, self._drain)
                raise self._start_error(
                    f"{self.name} exited with status {self.returncode} while starting")
        await self.akill()
        raise self._start_error(f"{self.name} was not ready within {timeout:g} s",
                                timed_out=True)

    # -- exit -------------------------------------------------------------------------

    async def wait(self) -> int:
        """The exit status, awaited through a pidfd (no thread, no polling)."""
        popen = self.popen
        assert popen is not None, "not started"
        if (code := popen.poll()) is not None:
            return code
        try:
            pidfd = os.pidfd_open(popen.pid)
        except ProcessLookupError:
            return popen.wait()
        loop = asyncio.get_running_loop()
        gone = loop.create_future()
        loop.add_reader(pidfd, lambda: gone.done() or gone.set_result(None))
        try:
            await gone
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        return popen.wait()

    def send_signal(self, sig: int) -> None:
        if self.alive:
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)

    def _kill_group(self) -> None:
        if self.popen is not None:
            # The group too: whatever the process started dies with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)

    def _forget(self) -> None:
        if self.pid_file is not None:
            with contextlib.suppress(OSError):
                self.pid_file.unlink()

    def stop(self, grace_s: float = 5.0, sig: int = signal.SIGTERM) -> int | None:
        """`sig`, then SIGKILL to the group after `grace_s`. Returns the exit status."""
        if self.popen is None:
            return None
        self.send_signal(sig)
        try:
            self.popen.wait(grace_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %g s of %s; killing it", self.name, grace_s,
                        signal.Signals(sig).name)
        return self.kill()

    def kill(self) -> int | None:
        if self.popen is None:
            return None
        self._kill_group()
        code = self.popen.wait()
        self._drain()
        self._forget()
        return code

    async def astop(self, grace_s: float = 5.0, sig: int = signal.SIGTERM) -> int | None:
        if self.popen is None:
            return None
        self.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait(), grace_s)
        return await self.akill()

    async def akill(self) -> int | None:
        if self.popen is None:
            return None
        self._kill_group()
        code = await self.wait()
        if self._pump is not None and self._pump.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, self._drain)
        self._forget()
        return code

    def restart(self, grace_s: float = 5.0) -> None:
        self.stop(grace_s)
        self.start()
