"""Starting and killing a function's process: the only place the local Lambda does it,
so a shared process supervisor can replace these two functions."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence


def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str,
          log_path: str) -> subprocess.Popen:
    """Start `argv` in its own process group, stdout and stderr appended to `log_path`."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process group at once (as Lambda does at a timeout) and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
