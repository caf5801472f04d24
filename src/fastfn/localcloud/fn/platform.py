"""A local Fn platform: functions run as real processes, called the way the agent calls them.

Each instance (instance.py) is a subprocess started with the same entrypoint a container
uses (`fastfn serve module:app`), or the function's image run by image_runtime, with the
FN_* variables and the function's config as environment, and a private socket directory.
Like the agent, the platform watches that directory with inotify and dials on the CREATE
of lsnr.sock; a function that is not listening within 5 s fails with the agent's
"Container initialization timed out". Calls are one at a time per
instance; a call past its timeout kills the instance (504); an instance that dies or answers
with an outer status other than 200/502/504 is discarded (502) and the next call starts a
fresh one. Idle instances are kept warm for a while, as the platform does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastfn.localcloud.fn.agent_client import ConnectionClosed, FnResponse
from fastfn.localcloud.fn.image_runtime.bundle import reap_containers
from fastfn.localcloud.fn.instance import (
    INIT_TIMEOUT_S,
    FunctionInstance,
    FunctionSpec,
    InstanceStartError,
    platform_error,
)
from fastfn.localcloud.process import LineSink, reap_leftover

if TYPE_CHECKING:
    from fastfn.localcloud.fn.image_runtime import ImageCache

log = logging.getLogger("fastfn.localcloud.fn")

MAX_BODY_BYTES = 6 * 1024 * 1024
VALID_OUTER_STATUSES = frozenset({200, 502, 504})

__all__ = ["INIT_TIMEOUT_S", "FnPlatform", "FnResponse", "FunctionInstance", "FunctionSpec",
           "InstanceStartError", "platform_error"]


def new_call_id() -> str:
    # Fn call ids are ULIDs; time-ordered and unique is what matters here.
    return f"{int(time.time() * 1000):012X}{secrets.token_hex(7).upper()}"


async def _with_timeout(call: Awaitable[FnResponse], seconds: float) -> FnResponse:
    """asyncio.wait_for without its extra Task per call (Python 3.11): one timer handle."""
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await call
    except asyncio.CancelledError:
        if not expired:
            raise
        task.uncancel()
        raise TimeoutError from None
    finally:
        timer.cancel()


def _timed_out(spec: FunctionSpec) -> FnResponse:
    return platform_error(504, "FunctionInvokeTimeout",
                          f"function did not answer within {spec.timeout_s:g} s")


LogSink = LineSink


def _default_log_sink(fn_name: str, line: str) -> None:
    sys.stderr.write(f"[{fn_name}] {line}\n")



class _Pool:
    def __init__(self) -> None:
        self.idle: deque[FunctionInstance] = deque()
        self.busy = 0
        self.available = asyncio.Condition()
        # Bumped by stop_function: instances of an older generation are retired on release.
        self.generation = 0
        self.waiting = 0  # callers blocked in _acquire: only then does _release notify


class FnPlatform:
    """Runs functions locally: a small warm pool per function, one call per instance."""

    def __init__(self, work_dir: Path | None = None, max_instances: int = 2,
                 idle_timeout_s: float = 30.0, log_sink: LogSink | None = None,
                 images: ImageCache | None = None) -> None:
        self._own_dir = work_dir is None
        # Short base path: socket paths must stay under 107 bytes.
        self.work_dir = Path(tempfile.mkdtemp(prefix="fastfn-")) if work_dir is None else work_dir
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.work_dir.glob("i*.pid"):  # instances of a run that was killed
            reap_leftover(leftover)
            # An image's container is crun's child in a session of its own: the pid file's
            # group kill does not reach it; crun's state does.
            reap_containers(leftover.with_suffix(""))
            shutil.rmtree(leftover.with_suffix(""), ignore_errors=True)
        self.max_instances = max_instances
        self.idle_timeout_s = idle_timeout_s
        self.log_sink = log_sink or _default_log_sink
        self.images = images  # where images are pulled and unpacked (by digest)
        self._pools: dict[str, _Pool] = {}
        self._reaper: asyncio.Task | None = None
        self.started_instances: list[FunctionInstance] = []

    def _pool(self, fn_id: str) -> _Pool:
        pool = self._pools.get(fn_id)
        if pool is None:
            pool = self._pools[fn_id] = _Pool()
        return pool

    async def _acquire(self, spec: FunctionSpec) -> FunctionInstance:
        pool = self._pool(spec.fn_id)
        # Fast path, no lock: nothing awaits between the check and the pop.
        if pool.idle and pool.idle[-1].alive:
            pool.busy += 1
            return pool.idle.pop()
        async with pool.available:
            while True:
                while pool.idle:
                    instance = pool.idle.pop()  # most recently used: warmest
                    if instance.alive:
                        pool.busy += 1
                        return instance
                    await instance.kill()
                if pool.busy < self.max_instances:
                    pool.busy += 1
                    break
                pool.waiting += 1
                try:
                    await pool.available.wait()
                finally:
                    pool.waiting -= 1
        instance = FunctionInstance(spec, self.work_dir, self.log_sink, self.images)
        instance.generation = pool.generation
        self.started_instances.append(instance)
        try:
            await instance.start()
        except BaseException:
            await self._release(spec.fn_id, None)
            raise
        log.info("instance started", extra={"fn": spec.fn_name, "instance": instance.number,
                                            "ready_ms": round(instance.ready_s * 1000, 1)})
        return instance

    async def _release(self, fn_id: str, instance: FunctionInstance | None) -> None:
        pool = self._pool(fn_id)
        retired = None
        pool.busy -= 1
        if instance is not None and instance.alive:
            if instance.generation == pool.generation:
                pool.idle.append(instance)
            else:
                retired = instance
        if pool.waiting:
            async with pool.available:
                pool.available.notify()
        if retired is not None:
            await retired.terminate()
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_idle())

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(max(self.idle_timeout_s / 4, 0.05))
            now = time.monotonic()
            for pool in self._pools.values():
                for instance in [i for i in pool.idle if now - i.last_used > self.idle_timeout_s]:
                    pool.idle.remove(instance)
                    await instance.terminate()

    async def invoke(self, spec: FunctionSpec, body: bytes,
                     headers: list[tuple[str, str]] | None = None) -> FnResponse:
        """One call as the agent makes it. `headers` are the caller's Fn/Fn-Http-* headers."""
        if len(body) > MAX_BODY_BYTES:
            return platform_error(413, "PayloadTooLarge",
                                  f"request body is {len(body)} bytes; the limit is "
                                  f"{MAX_BODY_BYTES}")
        # The call's clock starts when an instance has it, as on Fn: a cold start has a
        # budget of its own (INIT_TIMEOUT_S) and does not use up the function's timeout.
        try:
            instance = await self._acquire(spec)
        except InstanceStartError as exc:
            return exc.response
        call_id = new_call_id()
        deadline = datetime.now(UTC) + timedelta(seconds=spec.timeout_s)
        given = {name.lower() for name, _ in headers or ()}
        call_headers = [
            ("Fn-Call-Id", call_id),
            ("Fn-Deadline", deadline.isoformat(timespec="milliseconds").replace("+00:00", "Z")),
        ]
        if "fn-intent" not in given:
            call_headers.append(("Fn-Intent", "httprequest"))
        if "fn-invoke-type" not in given:
            call_headers.append(("Fn-Invoke-Type", "sync"))
        if "opc-request-id" not in given:
            call_headers.append(("Opc-Request-Id", call_id))
        call_headers += headers or []

        failure: FnResponse | None = None
        try:
            response = await _with_timeout(instance.call(call_headers, body), spec.timeout_s)
        except TimeoutError:
            failure = _timed_out(spec)
        except (ConnectionClosed, OSError) as exc:
            failure = platform_error(502, "FunctionInvokeExecutionFailed",
                                     f"function failed: {exc}")
        except BaseException:
            await self._discard(spec, instance)
            raise
        else:
            if response.status == 504:
                # The platform stops a timed-out container rather than trust that the work
                # inside it stopped (a sync endpoint's thread cannot be cancelled).
                failure = _timed_out(spec)
            elif response.status not in VALID_OUTER_STATUSES:
                failure = platform_error(502, "FunctionInvokeInvalidResponse",
                                         f"invalid function response: outer status "
                                         f"{response.status}")
        if failure is not None:
            await self._discard(spec, instance)
            return failure
        await self._release(spec.fn_id, instance)
        if len(response.body) > MAX_BODY_BYTES:
            return platform_error(502, "FunctionInvokeResponseTooLarge",
                                  "function response is over the 6 MB limit")
        if response.header("Fn-Call-Id") is None:
            # As Fn answers (`fn invoke --display-call-id` reads it): the call's id, which
            # its log lines carry too.
            response.headers.append(("Fn-Call-Id", call_id))
        return response

    async def _discard(self, spec: FunctionSpec, instance: FunctionInstance) -> None:
        await instance.kill()
        await self._release(spec.fn_id, None)

    async def stop_function(self, fn_id: str) -> None:
        """Retire a function's instances: idle ones now, busy ones when their call ends."""
        pool = self._pools.get(fn_id)
        if pool is None:
            return
        pool.generation += 1
        idle, pool.idle = list(pool.idle), deque()
        for instance in idle:
            await instance.terminate()

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for fn_id in list(self._pools):
            await self.stop_function(fn_id)
        for instance in self.started_instances:
            if instance.alive:
                await instance.kill()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    async def __aenter__(self) -> FnPlatform:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
