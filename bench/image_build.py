"""Image builds without a Docker daemon: cold and cached build time of a service, and its
image size against a naive single-stage `pip install` image on the same base and wheels.

    .venv/bin/python bench/image_build.py [--service examples/items]

Cold: buildah's layer cache off (`--no-cache`); the Debian base and the wheelhouse are
made first (timed apart: once per machine, once per requirements). Cached: the same
service again, unchanged (after one untimed build: buildah does not reuse the layers of
a `--no-cache` build). The naive image is what a first Dockerfile looks like: one stage,
`COPY . .` then `pip install -r requirements.txt` (pip compiles the installed packages,
not the app). Runs as root (buildah's chroot isolation), as CI does.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from fastfn.deploy.image.base import BaseSpec, ensure_base
from fastfn.deploy.image.buildah import build_image, default_cache_dir, inspect_image
from fastfn.deploy.image.tools import run
from fastfn.deploy.image.wheelhouse import ensure_wheelhouse
from fastfn.manifest import load

NAIVE = """\
FROM {base}
WORKDIR /function
COPY . .
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-index \\
    --find-links /wheels -r requirements.txt
USER 1000:1000
CMD ["/opt/venv/bin/fastfn", "serve", "{app}"]
"""


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def image_size(image_id: str) -> int:
    layers = inspect_image(image_id)["manifest"]["layers"]  # type: ignore[index]
    return sum(int(layer["size"]) for layer in layers)  # type: ignore[union-attr]


def naive_image(service: Path, app: str, base: str, wheels: Path, tag: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        dockerfile = Path(tmp) / "Dockerfile"
        dockerfile.write_text(NAIVE.format(base=base, app=app))
        iid = Path(tmp) / "iid"
        run(["buildah", "bud", "--isolation", "chroot", "--no-cache", "--pull=never",
             "-f", str(dockerfile), "-t", tag, "--iidfile", str(iid),
             "--volume", f"{wheels}:/wheels:ro", str(service)])
        return iid.read_text().strip().removeprefix("sha256:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--service", type=Path, default=Path("examples/items"))
    args = parser.parse_args()
    service = args.service.resolve()
    manifest = load(service)
    tag = f"localhost/fastfn-bench/{manifest.name}:{os.getpid()}"

    base, t_base = timed(ensure_base, BaseSpec())
    house, t_wheels = timed(ensure_wheelhouse, service / "requirements.txt",
                            python=base.python, arch=base.arch,
                            cache_dir=default_cache_dir())
    cold, t_cold = timed(build_image, service, manifest, tag, no_cache=True)
    build_image(service, manifest, tag)  # fills the layer cache
    cached, t_cached = timed(build_image, service, manifest, tag)
    naive_id, t_naive = timed(naive_image, service, manifest.app, base.reference,
                              house.path, f"{tag}-naive")
    naive_size, base_size = image_size(naive_id), image_size(base.image_id)
    result = {
        "service": manifest.name,
        "base_s": round(t_base, 2), "base_built": base.built,
        "wheelhouse_s": round(t_wheels, 2),
        "cold_build_s": round(t_cold, 2), "cached_build_s": round(t_cached, 2),
        "cached_steps": f"{cached.cached_steps}/{cached.steps}",
        "cold_over_cached": round(t_cold / t_cached, 1),
        "naive_build_s": round(t_naive, 2),
        "image_mb": round(cold.size / 1e6, 1), "naive_mb": round(naive_size / 1e6, 1),
        "base_mb": round(base_size / 1e6, 1),
        "image_over_naive": round(cold.size / naive_size, 3),
        "added_over_naive": round((cold.size - base_size) / (naive_size - base_size), 3),
    }
    print(json.dumps(result, indent=2))
    for reference in (tag, f"{tag}-naive"):
        run(["buildah", "rmi", reference])


if __name__ == "__main__":
    main()
