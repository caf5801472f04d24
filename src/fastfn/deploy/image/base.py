"""The Python base image, from Debian packages (no public image can be pulled here).

    base = ensure_base(BaseSpec())   # localhost/fastfn/python:3.11-bookworm
    base.reference, base.image_id, base.built   # built: False when the cache was used

`mmdebstrap` makes a minimal bookworm rootfs (variant `essential`, plus `python3`,
`python3-venv` and `ca-certificates` for the SDKs' HTTPS; no docs, man pages or
locales), which buildah imports as one layer. The image carries a label with the key of
what made it (package list, suite, architecture, mirror and every mmdebstrap argument):
`ensure_base` with the same spec finds it and does nothing, so only the first build of a
machine needs the Debian mirror. Bookworm's python3 is 3.11: images built on this base
run 3.11 whatever `python:` the manifest names (the Dockerfile's default base, for real
Docker, follows the manifest).

A foreign architecture needs binfmt + qemu-user (mmdebstrap runs the packages'
maintainer scripts): without them `ensure_base` refuses, naming qemu-user-static.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastfn.deploy.image.tools import ImageToolError, LineSink, can_run, host_arch, run

log = logging.getLogger("fastfn.deploy.image")

KEY_LABEL = "fastfn.base.key"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Keep the rootfs small: no documentation, manual pages or translations (copyrights stay).
DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
SUITE_PYTHON = {"bookworm": "3.11", "trixie": "3.13"}
IMAGE_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]


@dataclass(frozen=True)
class BaseSpec:
    suite: str = "bookworm"
    arch: str = field(default_factory=host_arch)
    packages: tuple[str, ...] = BASE_PACKAGES
    # Debian mirror; None: mmdebstrap's default (deb.debian.org). Env FASTFN_DEBIAN_MIRROR.
    mirror: str | None = field(default_factory=lambda: os.environ.get("FASTFN_DEBIAN_MIRROR"))

    @property
    def python(self) -> str:
        try:
            return SUITE_PYTHON[self.suite]
        except KeyError:
            raise ValueError(f"unknown Debian suite {self.suite!r} "
                             f"(known: {', '.join(SUITE_PYTHON)})") from None

    @property
    def reference(self) -> str:
        suffix = "" if self.arch == "amd64" else f"-{self.arch}"
        return f"localhost/fastfn/python:{self.python}-{self.suite}{suffix}"

    def mmdebstrap_args(self, target: Path) -> list[str]:
        args = ["mmdebstrap", "--variant=essential", f"--architectures={self.arch}",
                f"--include={','.join(self.packages)}"]
        args += [f"--dpkgopt={opt}" for opt in DPKG_OPTIONS]
        args += [self.suite, str(target)]
        if self.mirror:
            args.append(self.mirror)
        return args

    @property
    def key(self) -> str:
        """Everything that decides the rootfs; the target path does not."""
        recipe = {"args": self.mmdebstrap_args(Path("rootfs.tar")), "v": 1}
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class BaseImage:
    reference: str
    image_id: str
    python: str
    arch: str
    built: bool  # False: it was already there with the same key


def _existing(spec: BaseSpec) -> str | None:
    """The image id of the spec's base when it is in storage with the same key."""
    try:
        out = run(["buildah", "inspect", "--type", "image", "--format",
                   "{{.FromImageID}} {{index .OCIv1.Config.Labels \"" + KEY_LABEL + "\"}}",
                   spec.reference])
    except ImageToolError:
        return None  # not there
    image_id, _, key = out.strip().partition(" ")
    return image_id if key == spec.key else None


def ensure_base(spec: BaseSpec | None = None, on_line: LineSink | None = None) -> BaseImage:
    """The base image for `spec`, built only if storage has none with the same key."""
    spec = spec or BaseSpec()
    found = _existing(spec)
    if found:
        return BaseImage(spec.reference, found, spec.python, spec.arch, built=False)
    # One build per machine at a time: a second caller waits, then finds it built.
    lock_path = Path(tempfile.gettempdir()) / f"fastfn-base-{spec.key}.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _existing(spec)
        if found:
            return BaseImage(spec.reference, found, spec.python, spec.arch, built=False)
        return _build(spec, on_line)


def _build(spec: BaseSpec, on_line: LineSink | None) -> BaseImage:
    if not can_run(spec.arch):
        raise ImageToolError(
            f"cannot build a {spec.arch} base on this {host_arch()} machine: mmdebstrap "
            f"runs the packages' scripts, which needs binfmt emulation (apt-get install "
            f"qemu-user-static binfmt-support)", "")
    log.info("building the base image", extra={"image": spec.reference})
    with tempfile.TemporaryDirectory(prefix="fastfn-base-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        run(spec.mmdebstrap_args(rootfs), on_line=on_line, what="mmdebstrap")
        container = run(["buildah", "from", "--quiet", "scratch"]).strip()
        try:
            run(["buildah", "add", "--quiet", container, str(rootfs), "/"])
            run(["buildah", "config", "--arch", spec.arch, "--os", "linux",
                 "--env", f"PATH={':'.join(IMAGE_PATH)}", "--env", "LANG=C.UTF-8",
                 "--label", f"{KEY_LABEL}={spec.key}",
                 "--label", f"org.opencontainers.image.title=fastfn python {spec.python}",
                 "--cmd", "python3", container])
            image_id = run(["buildah", "commit", "--quiet", "--rm", container,
                            spec.reference]).strip()
        except BaseException:
            run(["buildah", "rm", container])
            raise
    log.info("base image built", extra={"image": spec.reference, "id": image_id})
    return BaseImage(spec.reference, image_id, spec.python, spec.arch, built=True)
