"""`fastfn serve module:app`: a container's entrypoint.

It imports the app (`runtime/app.py`) and serves it on one platform:
- by default the Fn http-stream contract (OCI Functions: `FN_LISTENER`, `runtime/fn/`);
- with `--http` (or `FASTFN_PLATFORM=http`) over TCP on `PORT` for VMs (instance pools:
  `runtime/http/`).
AWS Lambda runs the app through its own runtime client instead (`runtime/aws/`).
Kept free of typer, argparse and pydantic: this is every cold start's path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from fastfn.runtime import logs
from fastfn.runtime.app import AppImportError, event_loop_factory, import_app

log = logging.getLogger("fastfn.serve")

ENV_APP = "FASTFN_APP"
USAGE = "usage: fastfn serve [MODULE:APP] [--http] [--app-dir DIR] [--log-level LEVEL]"


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


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    argv = list(sys.argv[2:] if argv is None else argv)
    http = os.environ.get("FASTFN_PLATFORM", "") == "http"
    if "--http" in argv:
        argv.remove("--http")
        http = True
    try:
        app_spec, app_dir, level = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    try:
        logs.configure(level)
    except logs.LogFileError as exc:
        log.error(str(exc))
        return 2
    if not app_spec:
        log.error(f"no app given: pass module:attribute or set {ENV_APP}")
        return 2
    if http:
        return _main_http(app_spec, app_dir)
    from fastfn.runtime.asgi.host import AppHost
    from fastfn.runtime.fn import listener
    from fastfn.runtime.fn.bridge import FnConfig, RouteError
    from fastfn.runtime.fn.serve import serve

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
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(serve(AppHost(app), config, paths, started))


def _main_http(app_spec: str, app_dir: str) -> int:
    try:
        from fastfn.runtime.http.server import HttpSettings, serve_http
    except ImportError as exc:
        log.error("--http needs uvicorn (pip install 'fastfn[http]'): %s", exc)
        return 2
    try:
        settings = HttpSettings.from_env()
        app = import_app(app_spec, app_dir)
    except (ValueError, AppImportError) as exc:
        log.error(str(exc))
        return 2
    except Exception:
        log.exception("importing %s failed", app_spec)
        return 3
    return serve_http(app, settings, service=os.environ.get("FASTFN_SERVICE", ""))
