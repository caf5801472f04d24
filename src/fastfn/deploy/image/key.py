"""The content key of an image build: what `fastfn plan` compares instead of a digest.

    key = content_key(service_dir, manifest, stage=None, cache_dir=cache)

A registry names an image's digest only after a push, and a plan makes no remote
writes, so a plan cannot know the digest of an image it has not pushed. What it can know
is what the build is made of: the files of the build context (the service directory less
what its `.dockerignore`, else `context.DEFAULT_IGNORE`, leaves out, and never
`.fastfn/`), the generated Dockerfile, and for each platform the base image's id and the
wheelhouse's digest. Deploy records the key with the digest; the next plan with the same
key reuses that digest, a different key is "new image (digest after push)".

Ignore patterns are matched against each path and each of its parents (glob, as
`.dockerignore` lines name files and folders); `!` exceptions are not honoured, so the
key may count a file the build leaves out: a needless rebuild, never a missed change.
Computing it may build the base or fetch wheels once (local caches, no remote writes).
"""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path

from fastfn.deploy.container import dockerfile, platforms_for_shape
from fastfn.deploy.image.base import BaseSpec, ensure_base
from fastfn.deploy.image.context import ALWAYS_IGNORE, DEFAULT_IGNORE, default_cache_dir
from fastfn.deploy.image.tools import can_run
from fastfn.deploy.image.wheelhouse import ensure_wheelhouse
from fastfn.manifest import Manifest

KEY_VERSION = "v1"


def ignore_patterns(service_dir: Path) -> list[str]:
    own = service_dir / ".dockerignore"
    lines = own.read_text().splitlines() if own.is_file() else list(DEFAULT_IGNORE)
    # Matched at any depth below (`_ignored`), which is what a leading `**/` says.
    patterns = [line.strip().strip("/").removeprefix("**/") for line in lines]
    return [p for p in [*patterns, *ALWAYS_IGNORE] if p and not p.startswith(("#", "!"))]


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)] + parts
    return any(fnmatch.fnmatchcase(c, p) or fnmatch.fnmatchcase(c, f"**/{p}")
               for c in candidates for p in patterns)


def context_digest(service_dir: Path) -> str:
    """sha256 over the build context's file names, modes and contents."""
    service_dir = Path(service_dir).resolve()
    patterns = ignore_patterns(service_dir)
    h = hashlib.sha256()
    for path in sorted(service_dir.rglob("*")):
        relative = path.relative_to(service_dir).as_posix()
        if not path.is_file() or _ignored(relative, patterns):
            continue
        executable = bool(path.stat().st_mode & 0o111)
        h.update(f"{relative}\0{int(executable)}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def content_key(service_dir: Path, manifest: Manifest, *, stage: str | None = None,
                cache_dir: Path | None = None) -> str:
    """The key of the image `build_image` makes from this service; see the module doc."""
    service_dir = Path(service_dir).resolve()
    cache_dir = Path(cache_dir or default_cache_dir())
    parts = [KEY_VERSION, context_digest(service_dir), dockerfile(manifest)]
    shape = manifest.resolve(stage).shape
    for platform in platforms_for_shape(shape):
        arch = platform.split("/", 1)[1]
        if not can_run(arch):
            parts.append(f"{arch}:skipped")
            continue
        base = ensure_base(BaseSpec(arch=arch))
        house = ensure_wheelhouse(service_dir / "requirements.txt", python=base.python,
                                  arch=arch, cache_dir=cache_dir)
        parts.append(f"{arch}:{base.image_id}:{house.digest}")
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()
