"""Running the image tools (mmdebstrap, buildah, skopeo): one error type per failure.

    out = run(["buildah", "images"])          # stdout; ImageToolError on a non-zero exit
    require("buildah")                        # ImageToolMissing names the apt package

`on_line` gets each output line as it arrives (progress on slow steps); the error keeps
the last lines, so a failed `RUN pip install` shows pip's own message.
"""

from __future__ import annotations

import collections
import platform
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastfn.deploy.errors import BuildError

# tool -> the Debian package that ships it
PACKAGES = {
    "mmdebstrap": "mmdebstrap",
    "buildah": "buildah",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "crun": "crun",
    "docker-registry": "docker-registry",
}
TAIL_LINES = 30

LineSink = Callable[[str], None]


class ImageToolMissing(BuildError):
    """A tool the image build needs is not installed; the message says which package."""


class ImageToolError(BuildError):
    """A tool exited with an error; the message carries its last output lines."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(f"{message}\n{output}" if output else message)
        self.output = output


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        package = PACKAGES.get(tool, tool)
        raise ImageToolMissing(
            f"{tool} is not installed: building images needs it "
            f"(Debian: apt-get install {package}; scripts/setup.sh installs it)")
    return path


def run(argv: Sequence[str], *, on_line: LineSink | None = None,
        env: Mapping[str, str] | None = None, cwd: Path | None = None,
        what: str | None = None) -> str:
    """Run a tool to its end; its stdout (stderr is merged into the error's tail)."""
    require(argv[0])
    kwargs: dict[str, Any] = {"env": dict(env) if env is not None else None, "cwd": cwd,
              "stdin": subprocess.DEVNULL, "text": True, "errors": "replace"}
    if on_line is None:
        done = subprocess.run(list(argv), capture_output=True, check=False, **kwargs)
        code, out = done.returncode, done.stdout
        lines = (done.stdout.splitlines() + done.stderr.splitlines())[-TAIL_LINES:]
    else:
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        seen: list[str] = []
        with subprocess.Popen(list(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, **kwargs) as proc:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                seen.append(line)
                tail.append(line)
                on_line(line)
            code = proc.wait()
        out, lines = "\n".join(seen), list(tail)
    if code != 0:
        raise ImageToolError(f"{what or argv[0]} failed (exit {code})", "\n".join(lines))
    return out


def host_arch() -> str:
    """The host's architecture in OCI's words (amd64, arm64)."""
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


QEMU_BINFMT = {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}


def can_run(arch: str) -> bool:
    """Can this machine run `arch` binaries (natively, or through binfmt + qemu-user)?"""
    if arch == host_arch():
        return True
    entry = QEMU_BINFMT.get(arch)
    return entry is not None and Path("/proc/sys/fs/binfmt_misc", entry).exists()
