"""Where an image build reads from and caches to: the build context's ignore patterns
(when a service has no `.dockerignore`) and the cache directory of wheelhouses and
generated Dockerfiles."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_IGNORE = (".fastfn", ".git", ".venv", "venv", "**/__pycache__", "**/*.pyc",
                  ".pytest_cache", "Dockerfile", ".dockerignore")
ALWAYS_IGNORE = (".fastfn",)  # deploy state and locks are written there during a build


def default_cache_dir() -> Path:
    """Wheelhouses and generated Dockerfiles: `$FASTFN_CACHE_DIR`, else ~/.cache/fastfn."""
    configured = os.environ.get("FASTFN_CACHE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fastfn"
