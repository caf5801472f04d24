"""Finding the ASGI app (`module:attribute`) and the event loop to run it on: the same on
every platform."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any


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


def event_loop_factory() -> Any:
    """uvloop when installed (FASTFN_LOOP=auto|uvloop|asyncio): it roughly halves per-call
    server CPU."""
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
