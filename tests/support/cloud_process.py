"""`fastfn cloud up` as a real subprocess, for tests that kill it (`kill -9`) and start it
again on the same state dir, driven with the real oci SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TypeVar

from fastfn.localcloud.oci.core.context import CloudIdentity
from fastfn.localcloud.oci.core.layout import StateLayout

C = TypeVar("C")


class CloudProcess:
    def __init__(self, state_dir: Path, log: Path) -> None:
        self.state_dir = state_dir
        self.layout = StateLayout(state_dir)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self, timeout: float = 60.0) -> CloudProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fastfn", "cloud", "up", "--state-dir",
                 str(self.state_dir), "--port", "0", "--proxy-port", "0"],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "fastfn cloud up did not start"
            try:
                running = json.loads(self.layout.endpoint_file.read_text())
            except (OSError, ValueError):
                running = {}
            if running.get("pid") == self.proc.pid:
                self.endpoint = running["endpoint"]
                break
            time.sleep(0.1)
        self.identity = CloudIdentity.load_or_create(self.state_dir)
        self.client(_object_storage()).get_namespace()  # answering, not only bound
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    @property
    def config(self) -> dict[str, Any]:
        import oci

        return oci.config.from_file(str(self.layout.oci_config))

    def client(self, client_class: type[C], **kwargs: Any) -> C:
        kwargs.setdefault("service_endpoint", self.endpoint)
        return client_class(self.config, **kwargs)  # type: ignore[call-arg]

    def __getattr__(self, name: str) -> Any:
        """compartment_id, namespace, region, vault_id...: the started cloud's identity."""
        identity = self.__dict__.get("identity")
        if identity is None or name.startswith("_"):
            raise AttributeError(name)
        return getattr(identity, name)

    @property
    def key_id(self) -> str:
        from fastfn.localcloud.oci.kms import default_key_id

        return default_key_id(self.identity)

    @property
    def images(self) -> Any:
        from fastfn.localcloud.oci.images import ImageStore

        return ImageStore.open(self.state_dir)

    def event_deliveries(self, state: str | None = None) -> list[dict[str, Any]]:
        from fastfn.localcloud.oci import event_deliveries

        return event_deliveries(self.state_dir, state)

    @property
    def subnet_id(self) -> str:
        import oci

        network = self.client(oci.core.VirtualNetworkClient)
        subnets = network.list_subnets(compartment_id=self.compartment_id).data
        return next(s.id for s in subnets if s.display_name == "local-subnet")


def _object_storage() -> type[Any]:
    import oci

    return oci.object_storage.ObjectStorageClient
