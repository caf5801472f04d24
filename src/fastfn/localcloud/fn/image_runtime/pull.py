"""Pulling an image and unpacking its rootfs, each once per digest.

`skopeo copy docker://<registry>/<repo>@<digest> oci:<cache>/<digest>:image` fetches the
manifest, config and layers into an OCI image layout; `umoci unpack` applies the layers
into a rootfs beside it (as root, with the image's own ownership; rootless otherwise).
Both land under a temporary name and are renamed into place, so a crash leaves no half
image, and a lock per digest lets concurrent cold starts share one pull.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("fastfn.localcloud.fn.image")

PULL_TIMEOUT_S = 300.0
_TAG = "image"


class ImagePullError(Exception):
    """The image could not be pulled or unpacked; the message says why."""


@dataclass(frozen=True)
class ImageSource:
    """What to pull: `host:port/repo` in a registry, at a platform manifest's digest."""

    repository: str  # e.g. 127.0.0.1:5000/ns/items
    digest: str  # sha256:... of the image manifest for the platform to run
    tls_verify: bool = False  # the local registry speaks plain HTTP on loopback

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class ImageConfig:
    """The parts of the image config (`config` in the OCI image spec) a runtime uses."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    working_dir: str = "/"
    user: str = ""

    @classmethod
    def from_blob(cls, doc: dict[str, Any]) -> ImageConfig:
        config = doc.get("config") or {}
        return cls(entrypoint=list(config.get("Entrypoint") or []),
                   cmd=list(config.get("Cmd") or []), env=list(config.get("Env") or []),
                   working_dir=config.get("WorkingDir") or "/",
                   user=config.get("User") or "")

    @property
    def argv(self) -> list[str]:
        return self.entrypoint + self.cmd

    def environment(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in self.env)
        return {name: value for name, _, value in pairs if name}


@dataclass(frozen=True)
class PulledImage:
    digest: str
    rootfs: Path
    config: ImageConfig
    pull_s: float = 0.0  # 0 when it came from the cache


def _short(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64:
        raise ImagePullError(f"not a sha256 digest: {digest!r}")
    return hexdigest[:20]


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PULL_TIMEOUT_S,
                              check=False)
    except FileNotFoundError:
        raise ImagePullError(f"{argv[0]} is not installed (needed to {what})") from None
    except subprocess.TimeoutExpired:
        raise ImagePullError(f"{what}: {argv[0]} did not finish in {PULL_TIMEOUT_S:g} s"
                             ) from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ImagePullError(f"{what} failed: {lines[-1] if lines else done.returncode}")


def read_layout_config(layout: Path) -> ImageConfig:
    """The image config of the one image in an OCI layout (as skopeo wrote it)."""

    def blob(digest: str) -> dict[str, Any]:
        algorithm, _, hexdigest = digest.partition(":")
        data: dict[str, Any] = json.loads((layout / "blobs" / algorithm / hexdigest)
                                          .read_bytes())
        return data

    index = json.loads((layout / "index.json").read_bytes())
    manifest = blob(index["manifests"][0]["digest"])
    return ImageConfig.from_blob(blob(manifest["config"]["digest"]))


class ImageCache:
    """Pulled layouts and unpacked rootfs trees, by digest, under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def rootfs(self, digest: str) -> Path:
        return self.root / _short(digest) / "rootfs"

    def pull(self, source: ImageSource) -> PulledImage:
        """The image unpacked (blocking: run it off the event loop)."""
        key = _short(source.digest)
        image_dir = self.root / key
        started = time.perf_counter()
        with self._locked(key):
            if (image_dir / "rootfs").is_dir():
                return PulledImage(source.digest, image_dir / "rootfs",
                                   read_layout_config(image_dir / "layout"))
            staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
            try:
                self._fetch(source, staging / "layout")
                self._unpack(staging / "layout", staging / "bundle")
                (staging / "bundle" / "rootfs").rename(staging / "rootfs")
                shutil.rmtree(staging / "bundle")
                shutil.rmtree(image_dir, ignore_errors=True)
                staging.rename(image_dir)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        took = time.perf_counter() - started
        log.info("image pulled and unpacked", extra={"image": source.reference,
                                                    "seconds": round(took, 2)})
        return PulledImage(source.digest, image_dir / "rootfs",
                           read_layout_config(image_dir / "layout"), pull_s=took)

    @staticmethod
    def _fetch(source: ImageSource, layout: Path) -> None:
        tls = "true" if source.tls_verify else "false"
        _run(["skopeo", "--insecure-policy", "copy", "--quiet", f"--src-tls-verify={tls}",
              f"docker://{source.reference}", f"oci:{layout}:{_TAG}"],
             f"pull {source.reference}")

    @staticmethod
    def _unpack(layout: Path, bundle: Path) -> None:
        argv = ["umoci", "unpack", "--image", f"{layout}:{_TAG}"]
        if os.geteuid() != 0:
            argv.append("--rootless")
        _run([*argv, os.fspath(bundle)], "unpack the image")
