"""The seed-004 service under the local Lambda: `fastfn dev` (a real awslambdaric process
behind a function URL) and `fastfn invoke`, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from fastfn.cli.aws_local import wait_for_dev

from support.github_fake import FakeGitHub

SERVICE = Path(__file__).parents[2] / "examples" / "github-digest"
KEY = "local-digest-key-51c2"


@pytest.fixture
def service(tmp_path: Path) -> Path:
    copy = tmp_path / "github-digest"
    shutil.copytree(SERVICE, copy, ignore=shutil.ignore_patterns(".fastfn", "__pycache__"))
    return copy


def _fastfn(*args: str) -> list[str]:
    return [sys.executable, "-m", "fastfn", *args]


ENV = os.environ | {"GITHUB_DIGEST_API_KEY": KEY, "COLUMNS": "200"}
# Generous: a cold awslambdaric start on a loaded 2-core machine can take tens of seconds.
START_S, CALL_S, STOP_S = 180, 90, 90


class DevOutput:
    """`fastfn dev`'s output, read as it comes (the pipe is drained, so the server never
    blocks on a full one); `url` is set once it says it is ready, or the process ended."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.url: str | None = None
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)
            found = re.search(r"try: curl -i (http://\S+?)/?\s*$", line)
            if found and self.url is None:
                self.url = found.group(1)
                self.ready.set()
        self.ready.set()  # EOF: the process is gone

    def wait_url(self, timeout: float) -> str:
        assert self.ready.wait(timeout), "fastfn dev not ready:\n" + "".join(self.lines)
        assert self.url is not None, "fastfn dev ended:\n" + "".join(self.lines)
        return self.url


@pytest.mark.slow
def test_dev_and_invoke(service: Path) -> None:
    with FakeGitHub() as github:
        dev = subprocess.Popen(_fastfn("dev", str(service), "--port", "0", "--no-reload",
                                       "--config", f"GITHUB_API_URL={github.url}"),
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        output = DevOutput(dev)
        try:
            url = output.wait_url(START_S)
            assert wait_for_dev(service, timeout_s=30)["url"] == url  # the state it left
            ok = httpx.get(url + "/info/version", headers={"x-api-key": KEY}, timeout=CALL_S)
            assert ok.status_code == 200 and ok.json() == {"version": "v0.4.0"}
            assert httpx.get(url + "/info/version", timeout=CALL_S).status_code == 401
            assert httpx.get(url + "/info/version", headers={"x-api-key": "nope"},
                             timeout=CALL_S).status_code == 401
            assert httpx.get(url + "/invalid-path", headers={"x-api-key": KEY},
                             timeout=CALL_S).status_code == 404
            limit = httpx.get(url + "/github-api/rate-limit", headers={"x-api-key": KEY},
                              timeout=CALL_S)
            assert limit.status_code == 200 and limit.json()["remaining"] == 4999

            invoked = subprocess.run(_fastfn("invoke", str(service), "--path", "/info/version",
                                             "-H", f"x-api-key: {KEY}", "--json"),
                                     env=ENV, capture_output=True, text=True,
                                     timeout=2 * CALL_S)
            assert invoked.returncode == 0, invoked.stderr
            out = json.loads(invoked.stdout)
            assert out["status"] == 200 and out["body"] == {"version": "v0.4.0"}
        finally:
            dev.send_signal(signal.SIGINT)
            dev.wait(timeout=STOP_S)
    logs = "".join(p.read_text() for p in (service / ".fastfn" / "lambda-logs").glob("*.log"))
    assert "request refused: missing or wrong x-api-key header" in logs
    assert KEY not in logs
    assert not (service / ".fastfn" / "dev.json").exists()


def test_invoke_without_dev_starts_the_function_for_one_call(service: Path) -> None:
    got = subprocess.run(_fastfn("invoke", str(service), "--path", "/info/version", "--json"),
                         env=ENV, capture_output=True, text=True, timeout=90)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["status"] == 401  # no key given

    direct = subprocess.run(_fastfn("invoke", str(service), "-d", "not json"), env=ENV,
                            capture_output=True, text=True, timeout=30)
    assert direct.returncode == 1 and "must be JSON" in direct.stderr
