"""The docker-registry process: config, start on a free loopback port, stop."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import socket
import urllib.request
from pathlib import Path

from fastfn.localcloud.process import ProcessStartError, Supervised

log = logging.getLogger("fastfn.localcloud.registry")

BINARY = "docker-registry"
START_TIMEOUT_S = 30.0
_OCIR = re.compile(r"^(?P<host>[a-z0-9-]+\.ocir\.io|[a-z0-9.-]+:\d+|localhost)/"
                   r"(?P<namespace>[^/]+)/(?P<repo>[^:@]+)(?P<rest>[:@].*)?$")


class RegistryMissing(RuntimeError):
    """docker-registry is not installed."""


def ocir_parts(reference: str) -> tuple[str, str, str, str]:
    """(host, namespace, repository, ":tag" or "@digest" or "") of an OCIR-style name."""
    match = _OCIR.match(reference)
    if match is None:
        raise ValueError(f"not an OCIR image name (<region>.ocir.io/<namespace>/<repo>"
                         f":<tag>): {reference!r}")
    return (match["host"], match["namespace"], match["repo"], match["rest"] or "")


def local_reference(reference: str, address: str) -> str:
    """The same repository and tag in the local registry at `address`."""
    _, namespace, repo, rest = ocir_parts(reference)
    return f"{address}/{namespace}/{repo}{rest}"


def _config(data: Path, host: str, port: int) -> str:
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {data}\n"
        "  delete:\n    enabled: true\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        f"http:\n  addr: {host}:{port}\n"
    )


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalRegistry:
    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.host = host
        self.requested_port = port
        self.port = 0
        self.process: Supervised | None = None

    @property
    def address(self) -> str:
        if not self.port:
            raise RuntimeError("the registry is not running")
        return f"{self.host}:{self.port}"

    def _answers(self) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback
        try:
            with opener.open(f"http://{self.host}:{self.port}/v2/", timeout=1) as response:
                return int(response.status) == 200
        except OSError:
            return False

    def start(self) -> LocalRegistry:
        binary = shutil.which(BINARY)
        if binary is None:
            raise RegistryMissing("docker-registry is not installed: the local OCIR needs "
                                  "it (Debian: apt-get install docker-registry)")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        attempts = 1 if self.requested_port else 3  # a free port can be taken meanwhile
        for attempt in range(attempts):
            self.port = self.requested_port or _free_port(self.host)
            config = self.root / "config.yml"
            config.write_text(_config((self.root / "data").resolve(), self.host, self.port))
            self.process = Supervised("docker-registry", [binary, "serve", str(config)],
                                      pid_file=self.root / "registry.pid")
            self.process.start()
            try:
                self.process.wait_ready(self._answers, START_TIMEOUT_S)
                break
            except ProcessStartError:
                self.process.stop(grace_s=1.0)
                if attempt == attempts - 1:
                    raise
        log.info("local registry up", extra={"address": self.address})
        return self

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.stop(grace_s=3.0)
            self.process = None

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
