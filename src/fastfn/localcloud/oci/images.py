"""A local image store: what `source_details.image` means when there is no registry.

There is no Docker here, so an "image" is a snapshot of a service directory (copied into
the state dir, so later edits do not change a pushed image, as with a real registry)
plus the ASGI app to serve. Its digest is a sha256 over the snapshot's files and the app
string: pushing the same code twice gives the same digest. A function whose image (or
digest) is not in the store fails at invoke with FunctionInvokeImageNotAvailable, as a
real function whose image cannot be pulled does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastfn.localcloud.oci.core.ids import now, rfc3339
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.core.store import Store

log = logging.getLogger("fastfn.localcloud.oci.images")

IMAGE_TAG = "image"  # ref -> current digest
IMAGE_DIGEST = "image_digest"  # digest -> immutable record
# Never part of an image: caches, VCS data, virtual environments.
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", ".mypy_cache", ".pytest_cache",
              ".ruff_cache", "node_modules", ".fastfn"}


@dataclass(frozen=True)
class ImageRecord:
    ref: str
    digest: str
    source_dir: Path  # the snapshot, not the directory it was pushed from
    app: str  # "module:attr"
    command: list[str] | None
    time_created: str
    platforms: tuple[str, ...] = ()  # os/arch the image is built for, as its manifest says


def host_platform() -> str:
    """`linux/amd64` or `linux/arm64`: what a snapshot of this machine's code runs on."""
    import platform

    machine = platform.machine().lower()
    return "linux/" + {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".pyo")):
                found.append(Path(dirpath) / name)
    return found


def tree_digest(root: Path, app: str, command: list[str] | None = None,
                platforms: list[str] | None = None) -> str:
    h = hashlib.sha256()
    head: dict[str, object] = {"app": app, "command": command}
    if platforms is not None:
        head["platforms"] = sorted(platforms)
    h.update(json.dumps(head).encode())
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        h.update(rel.encode() + b"\0")
        h.update(b"x" if os.access(path, os.X_OK) else b"-")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def split_ref(ref: str) -> tuple[str, str | None]:
    """`repo:tag@sha256:...` -> (`repo:tag`, digest or None)."""
    if "@" in ref:
        name, digest = ref.split("@", 1)
        return name, digest
    return ref, None


class ImageStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = StateLayout(store.path.parent).images

    @classmethod
    def open(cls, state_dir: Path) -> ImageStore:
        """For tools outside the cloud process (the CLI pushing an image)."""
        return cls(Store(StateLayout(state_dir).db))

    def put(self, image_ref: str, source_dir: Path, app: str,
            command: list[str] | None = None, platforms: list[str] | None = None) -> str:
        """Snapshot `source_dir` as `image_ref`; returns the digest. `platforms` (e.g.
        ["linux/arm64"]) is what the image's manifest declares; default: this machine's."""
        source_dir = source_dir.resolve()
        if not source_dir.is_dir():
            raise FileNotFoundError(f"{source_dir} is not a directory")
        if ":" not in app:
            raise ValueError(f"app must be 'module:attr', got {app!r}")
        ref, _ = split_ref(image_ref)
        digest = tree_digest(source_dir, app, command, platforms)
        target = self.root / digest.replace(":", "-")
        if not target.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".push-", dir=self.root))
            for path in _files(source_dir):
                dest = staging / path.relative_to(source_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
            try:
                staging.rename(target)
            except OSError:  # pushed concurrently by someone else: theirs is identical
                shutil.rmtree(staging, ignore_errors=True)
        record = {"ref": ref, "digest": digest, "sourceDir": os.fspath(target), "app": app,
                  "command": command, "timeCreated": rfc3339(now()),
                  "platforms": platforms or [host_platform()]}
        with self.store.transaction() as store:
            store.put(IMAGE_DIGEST, digest, record, parent=ref, name=digest)
            store.put(IMAGE_TAG, ref, {"ref": ref, "digest": digest}, name=ref)
        log.info("image pushed", extra={"ref": ref, "digest": digest})
        return digest

    def resolve(self, ref_or_digest: str, digest: str | None = None) -> ImageRecord | None:
        """The image a function names: by digest when one is given, else by tag."""
        ref, pinned = split_ref(ref_or_digest)
        if ref.startswith("sha256:") and pinned is None:
            pinned, ref = ref, ""
        wanted = digest or pinned
        if wanted is None:
            tag = self.store.get(IMAGE_TAG, ref)
            if tag is None:
                return None
            wanted = tag["digest"]
        record = self.store.get(IMAGE_DIGEST, wanted)
        if record is None or not Path(record["sourceDir"]).is_dir():
            return None
        if ref and _repository(record["ref"]) != _repository(ref):
            return None  # a digest from another repository cannot be pulled from this one
        return ImageRecord(ref=record["ref"], digest=record["digest"],
                           source_dir=Path(record["sourceDir"]), app=record["app"],
                           command=record.get("command"), time_created=record["timeCreated"],
                           platforms=tuple(record.get("platforms") or [host_platform()]))

    def delete(self, image_ref: str) -> bool:
        """Delete an image as a registry does: the tag and the digest it points at."""
        ref, _ = split_ref(image_ref)
        with self.store.transaction() as store:
            tag = store.get(IMAGE_TAG, ref)
            if tag is None:
                return False
            store.delete(IMAGE_TAG, ref)
            record = store.get(IMAGE_DIGEST, tag["digest"])
            store.delete(IMAGE_DIGEST, tag["digest"])
        if record is not None:
            shutil.rmtree(record["sourceDir"], ignore_errors=True)
        return True


def _repository(ref: str) -> str:
    """`host/ns/repo:tag` -> `host/ns/repo` (a port's colon is not a tag)."""
    last = ref.rsplit("/", 1)[-1]
    return ref[: len(ref) - len(last)] + last.split(":", 1)[0]
