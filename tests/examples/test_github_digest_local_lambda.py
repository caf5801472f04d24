"""The seed-004 service under the local Lambda: `fastfn dev` (a real awslambdaric process
behind a function URL) and `fastfn invoke`, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
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


@pytest.mark.slow
def test_dev_and_invoke(service: Path) -> None:
    with FakeGitHub() as github:
        dev = subprocess.Popen(_fastfn("dev", str(service), "--port", "0", "--no-reload",
                                       "--config", f"GITHUB_API_URL={github.url}"),
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        try:
            url = wait_for_dev(service, timeout_s=60)["url"]
            ok = httpx.get(url + "/info/version", headers={"x-api-key": KEY}, timeout=30)
            assert ok.status_code == 200 and ok.json() == {"version": "v0.4.0"}
            assert httpx.get(url + "/info/version", timeout=30).status_code == 401
            assert httpx.get(url + "/info/version", headers={"x-api-key": "nope"},
                             timeout=30).status_code == 401
            assert httpx.get(url + "/invalid-path", headers={"x-api-key": KEY},
                             timeout=30).status_code == 404
            limit = httpx.get(url + "/github-api/rate-limit", headers={"x-api-key": KEY},
                              timeout=30)
            assert limit.status_code == 200 and limit.json()["remaining"] == 4999

            invoked = subprocess.run(_fastfn("invoke", str(service), "--path", "/info/version",
                                             "-H", f"x-api-key: {KEY}", "--json"),
                                     env=ENV, capture_output=True, text=True, timeout=60)
            assert invoked.returncode == 0, invoked.stderr
            out = json.loads(invoked.stdout)
            assert out["status"] == 200 and out["body"] == {"version": "v0.4.0"}
        finally:
            dev.send_signal(signal.SIGINT)
            dev.wait(timeout=30)
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
