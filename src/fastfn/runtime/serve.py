"""`fastfn serve module:app`: a container's entrypoint under the Fn http-stream contract.

Order matters: import the app and run its lifespan startup (once per container), bind the
phony socket, and only then publish `lsnr.sock`, so the agent's first dial always finds a
listening socket with mode 0666 and an app that is ready. SIGTERM: stop accepting, let the
call in flight finish, run lifespan shutdown, remove the socket files, exit 0.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
import time
from typing import Any

from fastfn.runtime import logs
from fastfn.runtime.fn import listener
from fastfn.runtime.fn.bridge import FnConfig, RouteError
from fastfn.runtime.fn.server import FnServer
from fastfn.runtime.lifespan import Lifespan, LifespanError

log = logging.getLogger("fastfn.serve")

ENV_APP = "FASTFN_APP"
# The agent gives up on a container that is not listening within this many seconds.
AGENT_INIT_TIMEOUT_S = 5.0
SHUTDOWN_GRACE_S = 10.0


class AppImportError(Exception):
    pass


def import_app(spec: str, app_dir: str = ".") -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise AppImportError(f"app must look like 'module:attribute', got {spec!r}")
    path = os.path.abspath(app_dir)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AppImportError(f"cannot import module {module_name!r} from {path}") from exc
        raise
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppImportError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise AppImportError(f"{spec} is not an ASGI application (not callable)")
    return obj


async def serve(app: Any, config: FnConfig, paths: listener.ListenerPaths,
                started: float | None = None) -> int:
    started = time.perf_counter() if started is None else started
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    lifespan = Lifespan(app)
    try:
        state = await lifespan.startup()
    except LifespanError as exc:
        log.error(str(exc))
        return 3

    try:
        sock = listener.bind(paths)
    except (listener.ListenerError, OSError) as exc:
        log.error("cannot listen on %s: %s", paths.phony, exc)
        await lifespan.shutdown()
        return 2
    fn_server = FnServer(app, config, state)
    server = await loop.create_unix_server(fn_server.protocol, sock=sock)
    listener.publish(paths)
    ready_ms = (time.perf_counter() - started) * 1000
    log.info("listening", extra={"socket": str(paths.listener), "ready_ms": round(ready_ms, 1)})
    if ready_ms > AGENT_INIT_TIMEOUT_S * 1000 * 0.6:
        log.warning("start-up took %.0f ms; the Fn agent gives up after %.0f s",
                    ready_ms, AGENT_INIT_TIMEOUT_S)

    await stop.wait()
    log.info("SIGTERM: draining")
    server.close()
    listener.remove(paths)
    fn_server.close_idle_connections()
    try:
        await asyncio.wait_for(fn_server.idle.wait(), SHUTDOWN_GRACE_S)
    except TimeoutError:
        log.warning("a call was still running after %.0f s; shutting down anyway",
                    SHUTDOWN_GRACE_S)
    for conn in list(fn_server.connections):
        conn.close()
    await lifespan.shutdown()
    log.info("stopped")
    return 0


USAGE = "usage: fastfn serve [MODULE:APP] [--app-dir DIR] [--log-level LEVEL]"


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> tuple[str | None, str, str]:
    """(app, app_dir, log_level). Hand-rolled: argparse costs milliseconds of cold start,
    and `fastfn serve --help` is answered by the full CLI instead."""
    app = os.environ.get(ENV_APP)
    app_dir = "."
    level = os.environ.get("FASTFN_LOG_LEVEL", "INFO")
    args = iter(argv)
    for arg in args:
        option, eq, inline = arg.partition("=")
        if option in ("--app-dir", "--log-level"):
            value = inline if eq else next(args, None)
            if not value:
                raise UsageError(f"{option} needs a value\n{USAGE}")
            if option == "--app-dir":
                app_dir = value
            else:
                level = value
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg}\n{USAGE}")
        else:
            app = arg
    return app, app_dir, level


def _event_loop_factory() -> Any:
    choice = os.environ.get("FASTFN_LOOP", "auto")
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
            return None
        return uvloop.new_event_loop
    return None


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    try:
        app_spec, app_dir, level = parse_args(sys.argv[2:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    logs.configure(level)
    if not app_spec:
        log.error(f"no app given: pass module:attribute or set {ENV_APP}")
        return 2
    try:
        paths = listener.ListenerPaths.from_env_value(os.environ.get("FN_LISTENER"))
        config = FnConfig.from_env()
        app = import_app(app_spec, app_dir)
    except (listener.ListenerError, RouteError, AppImportError) as exc:
        log.error(str(exc))
        return 2
    except Exception:
        # The app's own module failed to import: its traceback is the useful part, as one
        # JSON log line like every other.
        log.exception("importing %s failed", app_spec)
        return 3
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        return runner.run(serve(app, config, paths, started))
