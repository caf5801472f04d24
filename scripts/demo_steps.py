"""What every part of the demo shares: the step banner, how fastfn is run and shown, and a
`fastfn cloud up` child that is always stopped (TERM, then KILL) on the way out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
FASTFN = [sys.executable, "-m", "fastfn"]


def step(title: str) -> None:
    print(f"\n\033[1;36m== {title}\033[0m", flush=True)


def printable(argv: list[str]) -> list[str]:
    """The command as a user types it: `fastfn ...` rather than `python -m fastfn ...`."""
    return ["fastfn", *argv[len(FASTFN):]] if argv[:len(FASTFN)] == FASTFN else argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(child: subprocess.Popen, sig: int = signal.SIGTERM,  # type: ignore[type-arg]
         timeout: float = 30) -> None:
    if child.poll() is None:
        child.send_signal(sig)
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=10)


@contextmanager
def cloud_up(state: Path, *flags: str, ready: str = "run/endpoint.json",
             env: dict[str, str] | None = None,
             log: IO[str] | None = None) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    """`fastfn cloud up --state-dir STATE FLAGS` until it has written `ready` (a path under
    the state dir), stopped when the block ends."""
    cloud = subprocess.Popen([*FASTFN, "cloud", "up", "--state-dir", str(state), "--port", "0",
                              *flags], env=env if env is not None else dict(os.environ),
                             stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (state / ready).exists():
            if cloud.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{' '.join(printable(cloud.args))} did not start")  # type: ignore[arg-type]
            time.sleep(0.1)
        yield cloud
    finally:
        stop(cloud)
