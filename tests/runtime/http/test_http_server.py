"""`fastfn serve --http`: the app on PORT as a VM serves it behind a load balancer."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest


def test_serves_the_app_with_the_call_context(vm_server) -> None:
    server = vm_server()
    r = httpx.get(server.url + "/ctx", headers={"X-Request-Id": "req-77"})
    assert r.json() == {"call_id": "req-77", "platform": "http", "trigger": "http",
                        "client": r.json()["client"]}
    assert r.json()["client"].startswith("127.0.0.1:")
    generated = httpx.get(server.url + "/ctx").json()["call_id"]
    assert len(generated) == 32 and generated != "req-77"
    assert httpx.get(server.url + "/items/3").json() == {"id": 3}
    assert httpx.get(server.url + "/items/x").status_code == 422


def test_sigterm_readiness_503_at_once_in_flight_finishes_then_exit_0(vm_server) -> None:
    server = vm_server(FASTFN_DRAIN_DELAY="1.5", FASTFN_DRAIN_TIMEOUT="10")
    slow: dict = {}

    def call_slow() -> None:
        slow["response"] = httpx.get(server.url + "/slow?seconds=2.5", timeout=10)

    worker = threading.Thread(target=call_slow)
    worker.start()
    time.sleep(0.3)
    server.terminate()
    time.sleep(0.3)
    health = httpx.get(server.url + "/health")
    assert health.status_code == 503 and health.json() == {"status": "draining"}
    # Other requests are still served during the delay: the LB sees 503 first.
    assert httpx.get(server.url + "/items/1").status_code == 200
    worker.join(10)
    assert slow["response"].status_code == 200
    assert server.proc.wait(15) == 0
    assert (server.markers / "shutdown").read_text() == "done"
    assert (server.markers / "startups").read_text() == "up\n"  # lifespan once
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=1)


def test_bad_port_is_a_clear_error(tmp_path: Path) -> None:
    import os
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "fastfn", "serve", "vmapp:app", "--http"],
        env={**os.environ, "PORT": "eighty"}, capture_output=True, text=True, timeout=30,
        cwd=Path(__file__).parent / "apps")
    assert result.returncode == 2
    assert "PORT must be a number, got 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr


def test_logrotate_under_load_loses_no_line(vm_server, tmp_path: Path) -> None:
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert Path(logrotate).exists(), "Debian's logrotate is installed by scripts/setup.sh"
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    app_log = log_dir / "app.log"
    server = vm_server(APP_LOG_PATH=str(app_log))
    conf = tmp_path / "logrotate.conf"
    # Seed 002's policy: rename the file and create a new one (no copytruncate).
    conf.write_text(f"{app_log} {{\n  rotate 50\n  missingok\n  create 0644\n"
                    "  nocompress\n}\n")
    state = tmp_path / "logrotate.state"
    total = 1500
    errors: list[int] = []

    def load() -> None:
        with httpx.Client(base_url=server.url) as client:
            for i in range(total):
                r = client.get(f"/items/{i}")
                if r.status_code != 200:
                    errors.append(r.status_code)

    worker = threading.Thread(target=load)
    worker.start()
    rotations = 0
    # At most 20 rotations: past `rotate 50`, logrotate itself would delete the oldest file
    # (a slow, loaded machine serves the 1500 calls over many more 0.15 s ticks).
    while worker.is_alive():
        time.sleep(0.15)
        if rotations < 20:
            subprocess.run([logrotate, "-f", "-s", str(state), str(conf)], check=True)
            rotations += 1
    worker.join()
    assert not errors
    assert rotations >= 3
    seen: list[int] = []
    files_with_lines = 0
    for path in log_dir.iterdir():
        found = [int(entry["path"].rsplit("/", 1)[1])
                 for entry in map(json.loads, path.read_text().splitlines())
                 if entry.get("msg") == "call" and entry["path"].startswith("/items/")]
        files_with_lines += bool(found)
        seen += found
    assert sorted(seen) == list(range(total))  # none lost, none twice
    # The handler followed each new file: a handler that never reopens would have written
    # every line into the first renamed file.
    assert files_with_lines >= 3
