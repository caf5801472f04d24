"""The zips the embedded AWS was given (function code, layer contents), kept by sha256.

moto keeps a function's code in its own memory and hands out no way to read it back, so
the front (front.py) keeps a copy of every zip that passes through CreateFunction,
UpdateFunctionCode and PublishLayerVersion, named by the same CodeSha256 (base64 of the
sha256 of the zip) that Lambda reports. A zip is extracted once, on its first invoke, to a
directory of its own that invokes share read-only, like Lambda's /var/task and /opt.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

# Lambda's own limit on an unzipped deployment package (function and layers together).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024


class CodeStoreError(ValueError):
    pass


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the zip's sha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _file_name(sha: str) -> str:
    return hashlib.sha256(sha.encode()).hexdigest()[:32]  # base64 has '/' in it


class CodeStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "zips").mkdir(parents=True, exist_ok=True)
        (self.root / "unzipped").mkdir(parents=True, exist_ok=True)
        self._layers_file = self.root / "layers.json"
        self._lock = threading.Lock()
        try:
            self._layers: dict[str, str] = json.loads(self._layers_file.read_text())
        except (OSError, ValueError):
            self._layers = {}

    def put(self, data: bytes) -> str:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                size = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise CodeStoreError("Could not unzip uploaded file. Please check your file, "
                                 "then try to upload again.") from None
        if size > MAX_UNZIPPED_BYTES:
            raise CodeStoreError(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} "
                                 "bytes")
        sha = code_sha256(data)
        path = self.root / "zips" / f"{_file_name(sha)}.zip"
        if not path.exists():
            partial = path.with_suffix(".part")
            partial.write_bytes(data)
            os.replace(partial, path)
        return sha

    def has(self, sha: str) -> bool:
        return (self.root / "zips" / f"{_file_name(sha)}.zip").exists()

    def unzipped(self, sha: str) -> Path:
        """The directory holding the zip's files (extracted on first use)."""
        name = _file_name(sha)
        target = self.root / "unzipped" / name
        with self._lock:
            if target.is_dir():
                return target
            source = self.root / "zips" / f"{name}.zip"
            if not source.exists():
                raise CodeStoreError(f"no code with CodeSha256 {sha}")
            partial = target.with_name(name + ".part")
            shutil.rmtree(partial, ignore_errors=True)
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    _check_member(info.filename)
                archive.extractall(partial)
            os.replace(partial, target)
            return target

    def remember_layer(self, layer_version_arn: str, sha: str) -> None:
        with self._lock:
            self._layers[layer_version_arn] = sha
            partial = self._layers_file.with_suffix(".part")
            partial.write_text(json.dumps(self._layers, indent=1, sort_keys=True))
            os.replace(partial, self._layers_file)

    def layer_sha(self, layer_version_arn: str) -> str | None:
        with self._lock:
            return self._layers.get(layer_version_arn)


def _check_member(name: str) -> None:
    parts = Path(name).parts
    if name.startswith("/") or ".." in parts:
        raise CodeStoreError(f"zip member {name!r} leaves the package directory")
