"""Building a service's image with buildah (no daemon), pushing it, reading it back.

    built = build_image(service_dir, manifest, "local.ocir.io/ns/items:1", cache_dir=cache)
    built.image_id, built.size, built.cached_steps, built.layers
    pushed = push_image(built.reference, "localhost:5000/ns/items:1")   # repo:tag@sha256:..

`build_image` writes the generated Dockerfile (`deploy/container.py`) into the cache and
runs `buildah bud --isolation chroot --layers` with the service directory as context
(its `.dockerignore` honoured; without one, `DEFAULT_IGNORE`; `.fastfn/` never),
`BASE_IMAGE` set to the Debian-built base and pip pointed at the wheelhouse mounted
read-only for RUN steps.
Layers are cached by buildah: an unchanged service reuses every step (`cached_steps`
counts buildah's "Using cache" lines). The image's config carries the build's content key
(`deploy/image/key.py`) as the label `BUILD_KEY_LABEL`, so what an image in a registry
was built from can be read back from the registry alone (a redeploy without deploy state
knows an unchanged image).

Architectures follow the application shape. A platform this machine cannot run
(another CPU without binfmt + qemu-user) is skipped with a warning naming the package;
a shape with several platforms gives a manifest list (an OCI image index) of those
built; a shape none of whose platforms can be built is a `BuildError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastfn.deploy.container import dockerfile, platforms_for_shape
from fastfn.deploy.errors import BuildError
from fastfn.deploy.image.base import BaseSpec, ensure_base
from fastfn.deploy.image.context import ALWAYS_IGNORE, DEFAULT_IGNORE, default_cache_dir
from fastfn.deploy.image.key import content_key
from fastfn.deploy.image.tools import ImageToolError, LineSink, can_run, host_arch, run
from fastfn.deploy.image.wheelhouse import ensure_wheelhouse
from fastfn.manifest import Manifest

log = logging.getLogger("fastfn.deploy.image")

BUILD_KEY_LABEL = "org.fastfn.build-key"
_STEP = re.compile(r"^(\[\d+/\d+\] )?STEP \d+/\d+: ")
_CACHED = re.compile(r"^(\[\d+/\d+\] )?--> Using cache ")


@dataclass(frozen=True)
class PlatformImage:
    arch: str
    image_id: str
    layers: tuple[str, ...]  # diff ids, base first
    size: int  # bytes, uncompressed layers
    steps: int
    cached_steps: int


@dataclass(frozen=True)
class ImageBuild:
    reference: str  # local name (a manifest list when several platforms)
    python: str  # the image's Python (the base's)
    images: tuple[PlatformImage, ...]
    is_index: bool
    warnings: tuple[str, ...] = field(default=())
    content_key: str = ""  # the BUILD_KEY_LABEL of each platform image

    @property
    def image_id(self) -> str:
        return self.images[0].image_id

    @property
    def size(self) -> int:
        return sum(image.size for image in self.images)

    @property
    def cached_steps(self) -> int:
        return sum(image.cached_steps for image in self.images)

    @property
    def steps(self) -> int:
        return sum(image.steps for image in self.images)

    @property
    def layers(self) -> tuple[str, ...]:
        return self.images[0].layers

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(f"linux/{image.arch}" for image in self.images)


def inspect_image(reference: str) -> dict[str, object]:
    """buildah's view of a local image: id, OCI config and manifest."""
    out = run(["buildah", "inspect", "--type", "image", reference],
              what=f"buildah inspect {reference}")
    data = json.loads(out)
    return {"id": data["FromImageID"], "config": data["OCIv1"],
            "manifest": json.loads(data["Manifest"])}


def _ignore_file(service_dir: Path, files: Path) -> Path:
    """The service's `.dockerignore` (else `DEFAULT_IGNORE`), always with `.fastfn`
    appended: deploy state and locks are written there while a deploy builds."""
    own = service_dir / ".dockerignore"
    lines = own.read_text().splitlines() if own.is_file() else list(DEFAULT_IGNORE)
    ignore = files / "dockerignore"
    ignore.write_text("\n".join([*lines, *ALWAYS_IGNORE]) + "\n")
    return ignore


def _platform_build(service_dir: Path, manifest: Manifest, reference: str, arch: str,
                    cache_dir: Path, on_line: LineSink | None, key: str,
                    no_cache: bool = False) -> tuple[PlatformImage, str]:
    base = ensure_base(BaseSpec(arch=arch), on_line=on_line)
    house = ensure_wheelhouse(service_dir / "requirements.txt", python=base.python,
                              arch=arch, cache_dir=cache_dir, on_line=on_line)
    files = cache_dir / "build" / manifest.name
    files.mkdir(parents=True, exist_ok=True)
    docker_file = files / "Dockerfile"
    docker_file.write_text(dockerfile(manifest))
    argv = ["buildah", "bud", "--isolation", "chroot", "--layers", "--pull=never",
            "--arch", arch, "--os", "linux", "-f", str(docker_file), "-t", reference,
            "--build-arg", f"BASE_IMAGE={base.reference}",
            "--build-arg", f"PIP_INSTALL_OPTIONS=--no-index --find-links "
                           f"/wheels/{house.digest}",
            "--volume", f"{house.path}:/wheels/{house.digest}:ro",
            "--label", f"{BUILD_KEY_LABEL}={key}"]
    argv += ["--ignorefile", str(_ignore_file(service_dir, files))]
    if no_cache:
        argv.append("--no-cache")
    steps = cached = 0

    def line(text: str) -> None:
        nonlocal steps, cached
        steps += bool(_STEP.match(text))
        cached += bool(_CACHED.match(text))
        if on_line is not None:
            on_line(text)

    with tempfile.NamedTemporaryFile(prefix="fastfn-iid-") as iid:
        run([*argv, "--iidfile", iid.name, str(service_dir)], on_line=line,
            what=f"buildah bud ({manifest.name}, linux/{arch})")
        image_id = Path(iid.name).read_text().strip().removeprefix("sha256:")
    info = inspect_image(image_id)
    layers = info["manifest"]["layers"]  # type: ignore[index]
    config = info["config"]
    platform = PlatformImage(
        arch=arch, image_id=image_id,
        layers=tuple(config["rootfs"]["diff_ids"]),  # type: ignore[index]
        size=sum(int(layer["size"]) for layer in layers),  # type: ignore[union-attr]
        steps=steps, cached_steps=cached)
    return platform, base.python


def build_image(service_dir: Path, manifest: Manifest, reference: str, *,
                stage: str | None = None, cache_dir: Path | None = None,
                on_line: LineSink | None = None, no_cache: bool = False) -> ImageBuild:
    """Build the service's image for its shape's architectures; see the module doc."""
    service_dir = Path(service_dir).resolve()
    cache_dir = Path(cache_dir or default_cache_dir())
    resolved = manifest.resolve(stage)
    arches = [p.split("/", 1)[1] for p in platforms_for_shape(resolved.shape)]
    runnable = [arch for arch in arches if can_run(arch)]
    warnings = tuple(
        f"linux/{arch} not built: this {host_arch()} machine cannot run {arch} programs "
        f"(needs binfmt + qemu-user: apt-get install qemu-user-static binfmt-support)"
        for arch in arches if arch not in runnable)
    if not runnable:
        raise BuildError(f"shape {resolved.shape} needs {', '.join(arches)}: "
                         + "; ".join(warnings))
    key = content_key(service_dir, manifest, stage=stage, cache_dir=cache_dir)
    is_index = len(arches) > 1
    images, python = [], ""
    for arch in runnable:
        target = f"{reference}-{arch}" if is_index else reference
        image, python = _platform_build(service_dir, manifest, target, arch, cache_dir,
                                        on_line, key, no_cache)
        images.append(image)
    if is_index:
        _manifest_list(reference, [image.image_id for image in images])
    for warning in warnings:
        log.warning("%s", warning)
    return ImageBuild(reference=reference, python=python, images=tuple(images),
                      is_index=is_index, warnings=warnings, content_key=key)


def _manifest_list(reference: str, image_ids: list[str]) -> None:
    """A fresh manifest list `reference` naming exactly these images."""
    with contextlib.suppress(ImageToolError):  # there was none
        run(["buildah", "manifest", "rm", reference])
    run(["buildah", "manifest", "create", reference], what="buildah manifest create")
    for image_id in image_ids:
        run(["buildah", "manifest", "add", reference, image_id],
            what="buildah manifest add")


def push_image(source: str, destination: str, *, is_index: bool = False,
               tls_verify: bool = False, on_line: LineSink | None = None) -> str:
    """Push a local image (or manifest list) to `destination` (registry/repo:tag);
    returns `destination@sha256:...`, the digest the registry stores."""
    if "@" in destination:
        raise BuildError(f"push to a tag, not a digest: {destination!r}")
    with tempfile.NamedTemporaryFile(prefix="fastfn-digest-") as digest_file:
        verb = ["manifest", "push", "--all"] if is_index else ["push"]
        run(["buildah", *verb, f"--tls-verify={str(tls_verify).lower()}",
             "--digestfile", digest_file.name, source, f"docker://{destination}"],
            on_line=on_line, what=f"buildah push {destination}")
        digest = Path(digest_file.name).read_text().strip()
    return f"{destination}@{digest}"


def remote_manifest(reference: str, *, tls_verify: bool = False,
                    raw: bool = True) -> dict[str, object]:
    """The manifest (or index) a registry serves for `reference`, read with skopeo."""
    argv = ["skopeo", "inspect", f"--tls-verify={str(tls_verify).lower()}"]
    if raw:
        argv.append("--raw")
    out = run([*argv, f"docker://{reference}"], what=f"skopeo inspect {reference}")
    return json.loads(out)  # type: ignore[no-any-return]


def remote_label(reference: str, label: str, *, tls_verify: bool = False) -> str | None:
    """A label of the image a registry serves for `reference` (for an index, the image of
    this machine's platform, as skopeo picks it); None when it has none or the registry
    serves no such image (a read, nothing written)."""
    try:
        labels = remote_manifest(reference, tls_verify=tls_verify, raw=False).get("Labels")
    except ImageToolError:
        return None
    value = labels.get(label) if isinstance(labels, dict) else None
    return value if isinstance(value, str) else None
