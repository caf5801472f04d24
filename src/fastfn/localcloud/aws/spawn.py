"""Starting and killing a function's (or moto's) process, through the shared supervisor:
its own process group, dead with the local cloud, output appended to a log file."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from fastfn.localcloud.process import Supervised


def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str,
          log_path: str) -> Supervised:
    """Start `argv`, stdout and stderr appended to `log_path`."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = Supervised(os.path.basename(argv[0]), argv, env=env, cwd=cwd, output=fd)
        process.start()
    finally:
        os.close(fd)  # the child holds its own copy
    return process


def kill(process: Supervised) -> None:
    """SIGKILL the process group at once (as Lambda does at a timeout) and reap it."""
    process.kill()
