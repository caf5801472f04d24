"""Cold start of the items function from its image vs from its source folder.

Run by hand:  .venv/bin/python bench/image_cold_start.py [--rounds 5]   (as root, with the
image tools scripts/setup.sh installs)

Side by side in one run, against one real PostgreSQL and one real registry:
  source cold start  a fresh instance of the source folder (`fastfn serve` with this
                     machine's venv), first call answered (the anchor)
  image cold start   a fresh crun instance of the image (rootfs already unpacked), first
                     call answered
  first pull         skopeo copy + umoci unpack of the image, once (not in the ratio)
Rounds are interleaved; medians and the ratio image / source are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fastfn.deploy.image.base import BaseSpec, ensure_base  # noqa: E402
from fastfn.deploy.image.buildah import build_image, push_image  # noqa: E402
from fastfn.localcloud.fn.image_runtime import ImageCache, ImageSource  # noqa: E402
from fastfn.localcloud.fn.platform import FnPlatform  # noqa: E402
from fastfn.localcloud.fn.service import function_spec  # noqa: E402
from fastfn.localcloud.postgres import LocalPostgres  # noqa: E402
from fastfn.localcloud.registry import LocalRegistry  # noqa: E402
from fastfn.manifest import load  # noqa: E402

HEADERS = [("Fn-Http-Method", "GET"), ("Fn-Http-Request-Url", "/health")]


async def cold_start(spec: object, work: Path, cache: ImageCache) -> float:
    platform = FnPlatform(work_dir=work, log_sink=lambda _n, _l: None, images=cache)
    try:
        started = time.perf_counter()
        response = await platform.invoke(spec, b"", HEADERS)  # type: ignore[arg-type]
        took = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"cold start failed: {response.status} {response.body[:300]!r}")
        return took
    finally:
        await platform.aclose()


async def main(rounds: int) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="fastfn-bench-image-"))
    pg_dir = Path(tempfile.mkdtemp(prefix="fastfn-bench-pg-"))  # itself: postgres reaches it
    postgres = LocalPostgres(pg_dir)
    try:
        postgres.start()
        login = postgres.ensure_database("items", "librarian_user", secrets.token_urlsafe(16))
        service = ROOT / "examples" / "items"
        ensure_base(BaseSpec())
        built = build_image(service, load(service), "localhost/fastfn-bench/items:1")
        with LocalRegistry(scratch / "registry") as registry:
            pushed = push_image(built.reference, f"{registry.address}/bench/items:1")
            repository, _, digest = pushed.rpartition(":1@")
            source_spec = function_spec(service, load(service).resolve(), app_name="bench",
                                        extra_config={"ITEMS_DATABASE_URL": login.dsn})
            image_spec = function_spec(service, load(service).resolve(), app_name="bench",
                                       extra_config={"ITEMS_DATABASE_URL": login.dsn})
            image_spec.image = ImageSource(repository, digest)
            cache = ImageCache(scratch / "cache")
            started = time.perf_counter()
            await asyncio.to_thread(cache.pull, image_spec.image)
            first_pull = time.perf_counter() - started
            source_s: list[float] = []
            image_s: list[float] = []
            for n in range(rounds):
                source_s.append(await cold_start(source_spec, scratch / f"s{n}", cache))
                image_s.append(await cold_start(image_spec, scratch / f"i{n}", cache))
        source, image = statistics.median(source_s), statistics.median(image_s)
        print(f"image {pushed} ({built.size / 1e6:.0f} MB uncompressed)")
        print(f"first pull + unpack     {first_pull * 1000:8.0f} ms (once per digest)")
        print(f"source cold start       {source * 1000:8.0f} ms  (median of {rounds})")
        print(f"image cold start        {image * 1000:8.0f} ms  (median of {rounds})")
        print(f"ratio image / source    {image / source:8.2f}x")
        return 0
    finally:
        postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(pg_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    sys.exit(asyncio.run(main(parser.parse_args().rounds)))
