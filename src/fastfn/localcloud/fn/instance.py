"""One function instance ('container'): a process, its socket directory and the agent's
connection to it.

From a source folder the process is `fastfn serve module:app` with the folder as cwd and
import path. From an image (`FunctionSpec.image`) it is the image's own command, run by
image_runtime (crun, or a chroot where namespaces are refused) from the rootfs unpacked
for that digest; a pull or unpack failure is OCI's 502 FunctionInvokeImageNotAvailable.
Either way the agent side is the same: inotify on the socket directory, dial on the
CREATE of lsnr.sock within INIT_TIMEOUT_S, one call at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastfn.localcloud.fn.agent_client import (
    AgentConnection,
    FnResponse,
    SocketContractError,
    check_published_socket,
)
from fastfn.localcloud.fn.inotify import DirectoryWatch
from fastfn.localcloud.process import LineSink, ProcessStartError, Supervised

if TYPE_CHECKING:
    from fastfn.localcloud.fn.image_runtime import ImageCache, ImageSource, Launch

log = logging.getLogger("fastfn.localcloud.fn")

INIT_TIMEOUT_S = 5.0
# Environment a container gets from its image rather than from Fn.
_PASSTHROUGH_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")

LogSink = LineSink


@dataclass
class FunctionSpec:
    fn_id: str
    fn_name: str
    app_id: str
    app_name: str
    source_dir: Path  # cwd and import path of the process (unused for an image)
    app: str  # "module:attr"
    config: dict[str, str] = field(default_factory=dict)  # app config merged with fn config
    memory_mb: int = 128
    timeout_s: float = 30.0
    # What the platform itself adds (resource principal variables, region metadata...).
    platform_env: dict[str, str] = field(default_factory=dict)
    # The container's CMD; default `fastfn serve <app>`. Other servers can be run to see
    # how they fare under the agent (seed 000's `uvicorn --uds`, say).
    command: list[str] | None = None
    # Run this image (its own CMD, rootfs, uid 1000) rather than the source folder.
    image: ImageSource | None = None

    def argv(self) -> list[str]:
        return self.command or [sys.executable, "-m", "fastfn", "serve", self.app]


def platform_error(status: int, code: str, message: str) -> FnResponse:
    body = json.dumps({"code": code, "message": message}).encode()
    return FnResponse(status, [("Content-Type", "application/json")], body)


class InstanceStartError(Exception):
    def __init__(self, response: FnResponse) -> None:
        super().__init__(response.body.decode())
        self.response = response


class FunctionInstance:
    """One 'container': a process, its socket directory and the agent's connection to it."""

    _counter = itertools.count(1)

    def __init__(self, spec: FunctionSpec, root: Path, log_sink: LogSink,
                 images: ImageCache | None = None) -> None:
        self.spec = spec
        self.number = next(self._counter)
        self.socket_dir = root / f"i{self.number}"
        # Beside the socket directory, not in it: the function's HOME stays its own.
        self.pid_file = root / f"i{self.number}.pid"
        self.log_sink = log_sink
        self.images = images
        self.process: Supervised | None = None
        self.connection: AgentConnection | None = None
        self.refused_dials = 0
        self.socket_mode_at_create: int | None = None
        self.started_at = 0.0
        self.ready_s = 0.0
        self.pull_s = 0.0  # time spent pulling and unpacking the image (cold pull only)
        self.last_used = 0.0
        self.calls = 0
        self.generation = 0
        self._instance_dir: Path | None = None  # an image instance's bundle, removed on stop
        self._cleanup: list[list[str]] = []

    def fn_environment(self) -> dict[str, str]:
        """What Fn gives every function: its config, the platform's variables, FN_*."""
        spec = self.spec
        env = dict(spec.config)
        env.update(spec.platform_env)
        env.update({
            "FN_FORMAT": "http-stream",
            "FN_MEMORY": str(spec.memory_mb),
            "FN_TYPE": "sync",
            "FN_FN_ID": spec.fn_id,
            "FN_APP_ID": spec.app_id,
            "FN_FN_NAME": spec.fn_name,
            "FN_APP_NAME": spec.app_name,
        })
        return env

    def environment(self) -> dict[str, str]:
        """The source-folder process's environment."""
        env = {k: os.environ[k] for k in _PASSTHROUGH_ENV if k in os.environ}
        env.update(self.fn_environment())
        env.update({
            "FN_LISTENER": f"unix:{self.socket_dir / 'lsnr.sock'}",
            "PYTHONPATH": os.fspath(self.spec.source_dir),
            "PYTHONUNBUFFERED": "1",
            "HOME": os.fspath(self.socket_dir),
        })
        return env

    async def _image_launch(self, source: ImageSource) -> Launch:
        from fastfn.localcloud.fn.image_runtime import (
            ImageCache,
            ImagePullError,
            isolation,
            prepare_launch,
        )

        cache = self.images or ImageCache(self.socket_dir.parent / "images")
        try:
            pulled = await asyncio.to_thread(cache.pull, source)
        except ImagePullError as exc:
            log.warning("invoke refused: FunctionInvokeImageNotAvailable: %s", exc)
            raise InstanceStartError(platform_error(
                502, "FunctionInvokeImageNotAvailable", "Failed to pull function image")
            ) from None
        self.pull_s = pulled.pull_s
        self._instance_dir = self.socket_dir
        name = f"fastfn-{os.getpid()}-{self.number}"
        return prepare_launch(pulled, self.fn_environment(), self.socket_dir, name,
                              isolation())

    async def start(self) -> None:
        self.started_at = time.perf_counter()
        if self.spec.image is not None:
            launch = await self._image_launch(self.spec.image)
            self.socket_dir = launch.socket_dir
            self._cleanup = launch.cleanup
            argv, env, cwd = launch.argv, launch.env, launch.cwd
        else:
            self.socket_dir.mkdir(parents=True)
            argv, env, cwd = self.spec.argv(), self.environment(), self.spec.source_dir
        lsnr = self.socket_dir / "lsnr.sock"
        ready_from = time.perf_counter()
        with DirectoryWatch(self.socket_dir) as watch:
            self.process = Supervised(self.spec.fn_name, argv, env=env, cwd=cwd,
                                      on_line=self.log_sink, pid_file=self.pid_file)
            self.process.start()
            try:
                await self.process.await_ready(watch.wait_for("lsnr.sock", INIT_TIMEOUT_S),
                                               INIT_TIMEOUT_S)
            except ProcessStartError as exc:
                await self.kill()
                if not exc.timed_out:
                    raise InstanceStartError(platform_error(
                        502, "FunctionInvokeContainerFailed",
                        f"function process exited with code {exc.returncode} "
                        "before listening; see its log")) from None
                raise InstanceStartError(platform_error(
                    504, "FunctionInvokeContainerInitTimeout",
                    "Container initialization timed out, please ensure you are using the "
                    "latest fdk and check the logs")) from None
        # Dial at once, as the agent does on CREATE.
        with contextlib.suppress(OSError):
            self.socket_mode_at_create = os.stat(lsnr).st_mode & 0o777
        try:
            check_published_socket(lsnr)
        except (SocketContractError, OSError) as exc:
            await self.kill()
            raise InstanceStartError(platform_error(
                502, "FunctionInvokeContainerFailed", f"socket contract violated: {exc}"
            )) from None
        self.connection = await self._dial(lsnr)
        self.ready_s = time.perf_counter() - ready_from

    async def _dial(self, lsnr: Path) -> AgentConnection:
        deadline = time.perf_counter() + INIT_TIMEOUT_S
        while True:
            try:
                return await AgentConnection.dial(lsnr)
            except (ConnectionRefusedError, FileNotFoundError):
                self.refused_dials += 1
                if time.perf_counter() > deadline:
                    await self.kill()
                    raise InstanceStartError(platform_error(
                        502, "FunctionInvokeContainerFailed",
                        "function socket refused connections")) from None
                await asyncio.sleep(0.005)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.alive

    async def call(self, headers: list[tuple[str, str]], body: bytes) -> FnResponse:
        assert self.connection is not None
        self.calls += 1
        try:
            return await self.connection.call(headers, body)
        finally:
            self.last_used = time.monotonic()

    async def terminate(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after the grace period, as the platform stops containers."""
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            await self.process.astop(grace_s)
        await self._remove()

    async def kill(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            await self.process.akill()
        await self._remove()

    async def _remove(self) -> None:
        if self._cleanup:
            cleanup, self._cleanup = self._cleanup, []
            await asyncio.to_thread(_run_quietly, cleanup)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self._instance_dir is not None:
            shutil.rmtree(self._instance_dir, ignore_errors=True)


def _run_quietly(commands: list[list[str]]) -> None:
    for argv in commands:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(argv, capture_output=True, timeout=30, check=False)
