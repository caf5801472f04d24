"""A per-stage deploy lock: two deploys of one stage never run at once.

`<service>/.fastfn/deploy/<stage>.lock`, created exclusively (O_EXCL), holding who took
it. A lock whose process is gone (same host) or that is older than `STALE_AFTER_S` is
stale and taken over, with a warning. This lock covers one machine; across machines the
stage's lease in the target's own cloud does (`lease.py`), taken right after this one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from fastfn.deploy.errors import DeployLocked
from fastfn.deploy.state import STATE_DIR

log = logging.getLogger("fastfn.deploy.lock")

STALE_AFTER_S = 3600.0


def lock_path(service_dir: Path, stage: str) -> Path:
    return service_dir / STATE_DIR / f"{stage}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(holder: dict[str, object], age: float) -> bool:
    if age > STALE_AFTER_S:
        return True
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and isinstance(pid, int) and not \
        _alive(pid)


@contextlib.contextmanager
def stage_lock(service_dir: Path, stage: str, operation: str = "deploy") -> Iterator[Path]:
    path = lock_path(service_dir, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "operation": operation,
          "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(path.read_text() or "{}")
                age = time.time() - path.stat().st_mtime
            except (OSError, ValueError):
                holder, age = {}, 0.0
            if holder and _stale(holder, age):
                log.warning("taking over a stale deploy lock", extra={"holder": holder})
                path.unlink(missing_ok=True)
                continue
            raise DeployLocked(
                f"stage {stage!r} is locked: a {holder.get('operation', 'deploy')} by pid "
                f"{holder.get('pid', '?')} on {holder.get('host', '?')} since "
                f"{holder.get('since', '?')} is running. Wait for it to finish; if it is "
                f"gone, remove {path}") from None
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
        break
    else:
        raise DeployLocked(f"stage {stage!r}: could not take the lock at {path}")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
