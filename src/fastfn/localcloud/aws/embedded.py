"""The embedded AWS: a moto server, the front that owns Lambda's data plane (front.py),
and the local Lambda that runs the functions moto holds.

    with EmbeddedAWS(state_dir) as aws:          # or `fastfn cloud up --aws`
        aws.client("lambda").invoke(FunctionName="svc-dev", Qualifier="LIVE")

It announces itself in `<state_dir>/aws/endpoint.json` (endpoint, region, pid), which
`running(state_dir)` reads, as the local OCI cloud does with its own file. moto keeps its
state in memory: after a restart the account is empty (the kept zips under
`<state_dir>/aws/code` are only a cache). Function logs go to `<state_dir>/aws/logs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastfn.localcloud.aws.codestore import CodeStore
from fastfn.localcloud.aws.dispatch import LambdaDispatcher
from fastfn.localcloud.aws.front import Front
from fastfn.localcloud.aws.moto import REGION, LocalAWS

ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def aws_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "aws"


def endpoint_file(state_dir: Path) -> Path:
    return aws_dir(state_dir) / "endpoint.json"


def client_env(endpoint: str, region: str) -> dict[str, str]:
    """What a boto3 / aws CLI process needs to reach the embedded AWS."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region}


def make_client(service: str, endpoint: str, region: str) -> Any:
    import boto3  # lazy: heavy

    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@dataclass(frozen=True)
class RunningAWS:
    state_dir: Path
    endpoint: str
    region: str
    pid: int

    def env(self) -> dict[str, str]:
        return client_env(self.endpoint, self.region)

    def client(self, service: str) -> Any:
        return make_client(service, self.endpoint, self.region)


def running(state_dir: Path) -> RunningAWS | None:
    """The embedded AWS serving `state_dir`, or None when none announced itself there."""
    try:
        announced = json.loads(endpoint_file(state_dir).read_text())
        return RunningAWS(state_dir=Path(state_dir), endpoint=str(announced["endpoint"]),
                          region=str(announced["region"]), pid=int(announced["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class EmbeddedAWS:
    persistent = False

    def __init__(self, state_dir: Path, *, port: int = 0, region: str = REGION,
                 announce: bool = True) -> None:
        self.state_dir = Path(state_dir)
        self.region = region
        self._port = port
        self._announce = announce
        root = aws_dir(self.state_dir)
        root.mkdir(parents=True, exist_ok=True)
        self.moto = LocalAWS(region=region, log_dir=str(root))
        self.code = CodeStore(root / "code")
        self.log_dir = root / "logs"
        self.front: Front | None = None
        self.dispatcher: LambdaDispatcher | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        assert self.front is not None, "not started"
        return self.front.endpoint_url

    def env(self) -> dict[str, str]:
        return client_env(self.endpoint_url, self.region)

    def client(self, service: str) -> Any:
        return make_client(service, self.endpoint_url, self.region)

    def _moto_client(self, service: str) -> Any:
        return make_client(service, self.moto.endpoint_url, self.region)

    def start(self) -> EmbeddedAWS:
        self.moto.start()
        try:
            function_env: dict[str, str] = {}
            self.dispatcher = LambdaDispatcher(lambda: self._moto_client("lambda"), self.code,
                                               self.log_dir, function_env, region=self.region)
            self.front = Front(self.moto.port, self.dispatcher, self.code,
                               lambda: self._moto_client("s3"), port=self._port)
            # Functions reach AWS (SSM for their secrets...) through the front, with the
            # credentials Lambda would give them from their role.
            function_env.update(client_env(self.front.endpoint_url, self.region))
            function_env["AWS_SESSION_TOKEN"] = "local-session"
            self._thread = threading.Thread(target=self.front.serve_forever,
                                            name="aws-front", daemon=True)
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        if self._announce:
            path = endpoint_file(self.state_dir)
            partial = path.with_suffix(".part")
            partial.write_text(json.dumps({"endpoint": self.endpoint_url,
                                           "region": self.region, "pid": os.getpid()}))
            os.replace(partial, path)
        return self

    def stop(self) -> None:
        if self._announce:
            with contextlib.suppress(OSError):
                announced = json.loads(endpoint_file(self.state_dir).read_text())
                if self.front is not None and announced.get("endpoint") == self.endpoint_url:
                    endpoint_file(self.state_dir).unlink()
        if self.front is not None:
            if self._thread is not None:
                self.front.shutdown()
                self._thread = None
            self.front.server_close()
            self.front = None
        if self.dispatcher is not None:
            self.dispatcher.close()
            self.dispatcher = None
        self.moto.stop()

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
