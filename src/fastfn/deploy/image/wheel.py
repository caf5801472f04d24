"""fastfn itself as a wheel, for images (fastfn is not on PyPI).

    wheel = fastfn_wheel(directory)   # directory/fastfn-<version>-py3-none-any.whl

Written from the installed package (an editable install is the source tree), with the
distribution's own metadata (version, Requires-Dist with its extras, the `fastfn`
console script). No build backend runs, so it works offline, and it is reproducible:
files sorted, fixed timestamps; the same source gives the same bytes, so an unchanged
fastfn keeps the image's pip layer cached.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import zipfile
from pathlib import Path

import fastfn

DIST = "fastfn"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def _package_files(root: Path) -> list[tuple[str, bytes]]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root.parent)
        if (path.is_dir() or _SKIP_DIRS & set(rel.parts)
                or path.suffix in _SKIP_SUFFIXES):
            continue
        files.append((rel.as_posix(), path.read_bytes()))
    return files


def _metadata() -> tuple[str, str]:
    """(version, METADATA text) of the installed distribution."""
    meta = importlib.metadata.metadata(DIST)
    version = meta["Version"]
    lines = ["Metadata-Version: 2.1", f"Name: {DIST}", f"Version: {version}"]
    if meta.get("Requires-Python"):
        lines.append(f"Requires-Python: {meta['Requires-Python']}")
    lines += [f"Provides-Extra: {extra}" for extra in meta.get_all("Provides-Extra") or []]
    lines += [f"Requires-Dist: {req}" for req in meta.get_all("Requires-Dist") or []]
    return version, "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel_bytes() -> tuple[str, bytes]:
    """(file name, contents) of the wheel for the fastfn running this code."""
    version, metadata = _metadata()
    info = f"{DIST}-{version}.dist-info"
    files = _package_files(Path(fastfn.__file__).resolve().parent)
    files += [
        (f"{info}/METADATA", metadata.encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: fastfn\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", b"[console_scripts]\nfastfn = fastfn._entry:main\n"),
    ]
    record = [_record_line(name, data) for name, data in files] + [f"{info}/RECORD,,"]
    files.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            entry = zipfile.ZipInfo(name, _EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return f"{DIST}-{version}-py3-none-any.whl", buffer.getvalue()


def fastfn_wheel(directory: Path) -> Path:
    """Write the wheel into `directory` (unchanged when it already holds these bytes)."""
    name, data = wheel_bytes()
    target = Path(directory) / name
    if not (target.is_file() and target.read_bytes() == data):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target
