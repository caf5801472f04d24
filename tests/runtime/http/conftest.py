from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

APPS = Path(__file__).parent / "apps"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VmServer:
    def __init__(self, tmp: Path, **env: str) -> None:
        self.port = free_port()
        self.markers = tmp / "markers"
        self.markers.mkdir(exist_ok=True)
        self.stderr = tmp / "stderr.log"
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1",
                    "VMAPP_MARKERS": str(self.markers), "PYTHONPATH": str(APPS), **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastfn", "serve", "vmapp:app", "--http"],
            env=full_env, stderr=self.stderr.open("wb"), cwd=APPS)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.stderr.read_text()}")
            time.sleep(0.05)
        raise AssertionError("server not ready")

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(10)


@pytest.fixture
def vm_server(tmp_path: Path) -> Iterator[type[VmServer]]:
    started: list[VmServer] = []

    def start(**env: str) -> VmServer:
        server = VmServer(tmp_path, **env)
        started.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in started:
        server.stop()
