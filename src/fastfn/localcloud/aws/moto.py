"""Embedded AWS: a moto server (no Docker) on a free loopback port, with the environment
and boto3 clients that reach it.

State lives in the server's memory only and does not survive a restart
(`LocalAWS.persistent` is False). moto's request recorder could replay requests after a
restart, but it writes every request body in plain text, SecureString parameter values
included, and secrets never go into fastfn's files: so it is not used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

from fastfn.localcloud.aws import spawn

REGION = "us-east-1"
_START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalAWSError(RuntimeError):
    pass


class LocalAWS:
    """`with LocalAWS() as aws: aws.client("s3").list_buckets()`."""

    persistent = False

    def __init__(self, region: str = REGION, log_dir: str | None = None) -> None:
        self.region = region
        self.port = 0
        self.log_path = os.path.join(log_dir or tempfile.mkdtemp(prefix="fastfn-aws-"),
                                     "moto.log")
        self._process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What a boto3/aws CLI process needs to reach this server (fake credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, service: str) -> Any:
        import boto3  # lazy: heavy, and only the developer side needs it

        env = self.env()
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])

    def start(self) -> LocalAWS:
        for _ in range(3):  # a free port can be taken before the server binds it
            self.port = _free_port()
            env = {"PATH": os.environ.get("PATH", ""), "MOTO_PORT": str(self.port),
                   # AWS managed policies (AWSLambdaBasicExecutionRole...) can be attached.
                   "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
                   "PYTHONUNBUFFERED": "1"}
            self._process = spawn.spawn(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                env, os.path.dirname(self.log_path), self.log_path)
            if self._wait_ready():
                return self
            self.stop()
        raise LocalAWSError(f"moto server did not start; see {self.log_path}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json",
                                            timeout=2):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self._process is not None:
            spawn.kill(self._process)
            self._process = None

    def __enter__(self) -> LocalAWS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
