"""Resolving a function's image against the local registry, as the platform's pull does.

The local OCIR is a real OCI distribution registry on loopback. An image named with an
OCIR host (`fra.ocir.io/<namespace>/<repo>:<tag>`, `ocir.<region>.oci.oraclecloud.com/...`)
or with the registry's own `host:port` is looked up there: the manifest (or image index)
for the function's digest, else its tag; an index's platforms against the application
shape (GENERIC_X86 pulls linux/amd64, GENERIC_ARM linux/arm64, GENERIC_X86_ARM either,
this machine's first); a single manifest's architecture from its config. What fails is a
`PullFailure` with the cause in words (the invoke answers only 502
FunctionInvokeImageNotAvailable, as OCI does; the cause goes to the cloud's log).

A digest-pinned resolution is kept for a few seconds, so warm invokes do not each ask
the registry; a tag is asked for each time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from fastfn.localcloud.fn.image_runtime import ImageSource

log = logging.getLogger("fastfn.localcloud.oci.functions")

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
SHAPE_ARCHITECTURES: dict[str, tuple[str, ...]] = {
    "GENERIC_X86": ("amd64",),
    "GENERIC_ARM": ("arm64",),
    "GENERIC_X86_ARM": ("amd64", "arm64"),
}
CACHE_S = 5.0
TIMEOUT_S = 10.0


class PullFailure(Exception):
    """The image cannot be pulled for this application; the message says why."""


@dataclass(frozen=True)
class ResolvedImage:
    source: ImageSource  # the platform manifest to pull
    top_digest: str  # what the function is pinned to: the index's digest, or the manifest's
    architectures: tuple[str, ...]  # what the image offers


def host_architecture() -> str:
    import platform

    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def is_registry_host(host: str, registry: str) -> bool:
    return (host == registry or host.endswith(".ocir.io")
            or (host.startswith("ocir.") and host.endswith(".oraclecloud.com")))


def split_image(image: str) -> tuple[str, str, str | None]:
    """`host/ns/repo:tag@sha256:...` -> (host, `ns/repo`, tag or digest, or None)."""
    name, _, digest = image.partition("@")
    host, _, path = name.partition("/")
    last = path.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        path, _, tag = path.rpartition(":")
    return host, path, digest or tag


class RegistryResolver:
    def __init__(self, registry: str) -> None:
        self.registry = registry  # host:port of the local registry (plain HTTP)
        self._cache: dict[tuple[str, str, str], tuple[float, ResolvedImage]] = {}

    def handles(self, image: str) -> bool:
        host, path, _ = split_image(image)
        return bool(path) and is_registry_host(host, self.registry)

    def _get(self, path: str, accept: tuple[str, ...]) -> tuple[bytes, str]:
        request = urllib.request.Request(f"http://{self.registry}/v2/{path}",
                                         headers={"Accept": ", ".join(accept)})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                body = response.read()
                return body, response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            detail = _registry_error(exc)
            raise PullFailure(f"registry answered {exc.code} for {path}: {detail}") from None
        except OSError as exc:
            raise PullFailure(f"registry {self.registry} unreachable: {exc}") from None

    def resolve(self, image: str, digest: str | None, shape: str) -> ResolvedImage:
        _, repo, reference = split_image(image)
        wanted = digest or reference or "latest"
        key = (repo, wanted, shape)
        cached = self._cache.get(key)
        if cached is not None and wanted.startswith("sha256:") and \
                time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        resolved = self._resolve(repo, wanted, shape)
        self._cache[key] = (time.monotonic(), resolved)
        return resolved

    def architectures(self, image: str, digest: str | None) -> tuple[str, ...]:
        """What the image offers (empty when it cannot be read at all)."""
        try:
            return self.resolve(image, digest, "ANY").architectures
        except PullFailure:
            return ()

    def _resolve(self, repo: str, reference: str, shape: str) -> ResolvedImage:
        body, media_type = self._get(f"{repo}/manifests/{reference}",
                                     INDEX_TYPES + MANIFEST_TYPES)
        top = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and top != reference:
            raise PullFailure(f"{repo}@{reference}: the registry served content with digest "
                              f"{top}")
        try:
            doc: dict[str, Any] = json.loads(body)
        except ValueError:
            raise PullFailure(f"{repo}:{reference}: the manifest is not JSON") from None
        # "ANY" (not a shape): whatever the image offers, to say what that is.
        wanted = SHAPE_ARCHITECTURES.get(shape, ("amd64", "arm64") if shape == "ANY"
                                         else ("amd64",))
        kind = doc.get("mediaType") or media_type.split(";")[0]
        if kind in INDEX_TYPES or "manifests" in doc:
            offered = [(m.get("platform") or {}, m["digest"]) for m in doc["manifests"]
                       if (m.get("platform") or {}).get("os", "linux") == "linux"]
            archs = tuple(p.get("architecture", "") for p, _ in offered)
            for arch in sorted(wanted, key=lambda a: a != host_architecture()):
                for platform, child in offered:
                    if platform.get("architecture") == arch:
                        return ResolvedImage(ImageSource(f"{self.registry}/{repo}", child),
                                             top, archs)
            raise PullFailure(_no_platform(repo, reference, archs, shape))
        config_digest = (doc.get("config") or {}).get("digest")
        if not config_digest:
            raise PullFailure(f"{repo}:{reference}: the manifest names no config")
        config, _ = self._get(f"{repo}/blobs/{config_digest}", ("*/*",))
        arch = str(json.loads(config).get("architecture", ""))
        if arch not in wanted:
            raise PullFailure(_no_platform(repo, reference, (arch,), shape))
        return ResolvedImage(ImageSource(f"{self.registry}/{repo}", top), top, (arch,))


def _no_platform(repo: str, reference: str, archs: tuple[str, ...], shape: str) -> str:
    wanted = " or ".join(f"linux/{a}" for a in SHAPE_ARCHITECTURES.get(shape, ("amd64",)))
    offered = ", ".join(f"linux/{a}" for a in archs) or "none"
    return (f"{repo}:{reference} has no manifest for {wanted} (application shape {shape}); "
            f"the image offers {offered}")


def _registry_error(exc: urllib.error.HTTPError) -> str:
    try:
        errors = json.loads(exc.read()).get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or exc.reason
    except (ValueError, AttributeError):
        return str(exc.reason)
