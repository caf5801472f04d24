"""`fastfn cloud up --aws`: the embedded AWS as a foreground process that announces where
it is, and `fastfn cloud config --aws` that points boto3 at it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from fastfn.localcloud.aws.embedded import running


def _fastfn(*args: str) -> list[str]:
    return [sys.executable, "-m", "fastfn", *args]


def test_cloud_up_aws_announces_and_stops_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    up = subprocess.Popen(_fastfn("cloud", "up", "--aws", "--state-dir", str(state),
                                  "--port", "0"),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while running(state) is None:
            assert up.poll() is None, up.stdout.read() if up.stdout else ""
            assert time.monotonic() < deadline, "no endpoint announced"
            time.sleep(0.2)
        config = subprocess.run(_fastfn("cloud", "config", "--aws", "--state-dir", str(state)),
                                capture_output=True, text=True, check=True).stdout
        env = dict(line.removeprefix("export ").split("=", 1) for line in config.splitlines())
        assert env["AWS_ENDPOINT_URL"] == running(state).endpoint
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"],
                          region_name=env["AWS_DEFAULT_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="through-the-front")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["through-the-front"]
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
    assert running(state) is None  # the announcement is withdrawn


def test_cloud_config_aws_without_a_cloud_says_so(tmp_path: Path) -> None:
    done = subprocess.run(_fastfn("cloud", "config", "--aws", "--state-dir", str(tmp_path)),
                          capture_output=True, text=True, env=os.environ | {"COLUMNS": "200"})
    assert done.returncode != 0
    assert "fastfn cloud up --aws" in done.stdout + done.stderr
