"""The wheels a service's image installs, downloaded once, for the image's platform.

    house = ensure_wheelhouse(service_dir / "requirements.txt", python="3.11",
                              arch="amd64", cache_dir=cache)
    house.path      # a directory of wheels: pip install --no-index --find-links <path>
    house.digest    # changes exactly when a wheel does (a build argument of the image)

Wheels are fetched with `pip download --only-binary=:all:` for the image's Python and
CPU (manylinux tags up to Debian bookworm's glibc 2.36), not the host's, so the host
may run another Python. fastfn itself comes from `wheel.py`: every requirement naming
`fastfn` is pointed at that wheel (with its extras), never at an index. The result is
cached under `cache_dir/wheelhouses/<key>` with the key over the requirements' text, the
fastfn wheel and the platform: an unchanged service needs no network to rebuild. A
requirement with no wheel for the platform (an sdist only) is an error naming it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastfn.deploy.errors import BuildError
from fastfn.deploy.image.tools import LineSink, run
from fastfn.deploy.image.wheel import DIST, wheel_bytes

MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
GLIBC_MINOR = 36  # Debian bookworm
_FASTFN_LINE = re.compile(rf"^\s*{DIST}\s*(\[[^\]]*\])?\s*(?:[<>=!~;].*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    digest: str
    wheels: tuple[str, ...]


def platform_tags(arch: str) -> list[str]:
    try:
        machine = MACHINES[arch]
    except KeyError:
        raise BuildError(f"no wheel platform for architecture {arch!r}") from None
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def pointed_requirements(text: str, wheel: Path) -> str:
    """The requirements with every `fastfn[...]` line replaced by the local wheel."""
    out = []
    for line in text.splitlines():
        match = _FASTFN_LINE.match(line.split("#", 1)[0]) if line.strip() else None
        out.append(f"{wheel}{match.group(1) or ''}" if match else line)
    return "\n".join(out) + "\n"


def _digest_dir(path: Path) -> str:
    h = hashlib.sha256()
    for wheel in sorted(path.glob("*.whl")):
        h.update(wheel.name.encode() + b"\0" + hashlib.sha256(wheel.read_bytes()).digest())
    return h.hexdigest()[:24]


def ensure_wheelhouse(requirements: Path, *, python: str, arch: str, cache_dir: Path,
                      on_line: LineSink | None = None) -> Wheelhouse:
    if not requirements.is_file():
        raise BuildError(f"{requirements} is missing: the image installs the service's "
                         "dependencies from it (list fastfn[oci] there)")
    text = requirements.read_text()
    wheel_name, wheel_data = wheel_bytes()
    key = hashlib.sha256("\0".join([
        text, hashlib.sha256(wheel_data).hexdigest(), python, arch, "v1"]).encode()
    ).hexdigest()[:24]
    root = Path(cache_dir) / "wheelhouses"
    target = root / key
    if (target / ".complete").is_file():
        return Wheelhouse(target, (target / ".complete").read_text().strip(),
                          tuple(sorted(p.name for p in target.glob("*.whl"))))
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{key}.", dir=root) as tmp:
        work = Path(tmp)
        house = work / "wheels"
        house.mkdir()
        wheel = house / wheel_name
        wheel.write_bytes(wheel_data)
        pointed = work / "requirements.txt"
        pointed.write_text(pointed_requirements(text, wheel))
        argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                "--no-input", "--only-binary=:all:", "--dest", str(house),
                "--python-version", python, "--implementation", "cp",
                "-r", str(pointed)]
        for tag in platform_tags(arch):
            argv += ["--platform", tag]
        try:
            run(argv, on_line=on_line, what=f"pip download (the wheels for {arch}, "
                f"Python {python})")
        except BuildError as exc:
            raise BuildError(f"{requirements}: {exc} -- every requirement needs a wheel "
                             f"for linux/{arch} and Python {python}") from None
        digest = _digest_dir(house)
        (house / ".complete").write_text(digest + "\n")
        shutil.rmtree(target, ignore_errors=True)
        house.rename(target)
    return Wheelhouse(target, digest, tuple(sorted(p.name for p in target.glob("*.whl"))))
