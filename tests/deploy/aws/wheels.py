"""Wheels made on the spot, so package builds resolve with pip offline (--no-index)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(wheelhouse: Path, name: str, version: str, files: dict[str, str],
               requires: tuple[str, ...] = (), tag: str = "py3-none-any") -> Path:
    """A valid pure-python (or, with `tag`, platform) wheel of `files`."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    entries = dict(files)
    entries[f"{info}/METADATA"] = "\n".join(metadata) + "\n"
    entries[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: "
                                f"{'true' if tag.endswith('any') else 'false'}\n"
                                f"Tag: {tag}\n")
    record = []
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = wheelhouse / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in entries.items():
            archive.writestr(path, text)
    return wheel
