"""Services built into real images for the tests that run them on the local cloud
(tests/examples/test_*_image.py): the Debian base (made once per machine, found by its
key after), one LocalCloud with its registry (docker-registry as the local OCIR) for the
session, and a build + push that reports how long each phase took (base, wheelhouse,
build, push) on the terminal.

The fixtures are registered in tests/examples/conftest.py; they skip where the image
tools are not installed (scripts/setup.sh installs them) or buildah cannot run (root).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.manifest import load

TOOLS = ("buildah", "mmdebstrap", "skopeo", "umoci", "crun", "docker-registry")


def _say(config: pytest.Config, text: str) -> None:
    """A line on the terminal itself, past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():  # type: ignore[attr-defined]
        reporter.write_line(text)  # type: ignore[attr-defined]


class Phases:
    """Seconds per phase of making the test images, written to the terminal."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def timed(self, what: str, started: float) -> None:
        _say(self.config, f"[image] {what}: {time.monotonic() - started:.1f} s")


@pytest.fixture(scope="session")
def image_phases(pytestconfig: pytest.Config) -> Phases:
    return Phases(pytestconfig)


@pytest.fixture(scope="session")
def image_base(image_phases: Phases) -> str:
    """The Debian-built base (its python version); skips without the image tools."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"image tools not installed: {', '.join(missing)} (scripts/setup.sh)")
    if os.geteuid() != 0:
        pytest.skip("the image tests run buildah as root (as CI does)")
    from fastfn.deploy.image.base import BaseSpec, ensure_base

    started = time.monotonic()
    base = ensure_base(BaseSpec())
    image_phases.timed("base (ensure_base)", started)
    return base.python


@pytest.fixture(scope="session")
def image_cloud(image_base: str) -> Iterator[LocalCloud]:
    """One local cloud with its registry for every image test of the session."""
    work = Path(tempfile.mkdtemp(prefix="fastfn-image-cloud-"))
    try:
        with LocalCloud(work / "cloud", registry=True,
                        event_retry_delays=(0.2, 0.4)) as cloud:
            yield cloud
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_and_push(cloud: LocalCloud, service: Path, name: str, phases: Phases,
                   reference: str = "") -> str:
    """`service` built on the Debian base and pushed to the cloud's registry as
    `reference` (default local.ocir.io/fastfnlocal/<name>:1); returns `reference`."""
    from fastfn.deploy.image.base import BaseSpec, ensure_base
    from fastfn.deploy.image.buildah import build_image, default_cache_dir, push_image
    from fastfn.deploy.image.wheelhouse import ensure_wheelhouse
    from fastfn.localcloud.registry import local_reference

    assert cloud.registry is not None
    reference = reference or f"local.ocir.io/fastfnlocal/{name}:1"
    base = ensure_base(BaseSpec())  # found by its key: the image_base fixture made it
    started = time.monotonic()
    ensure_wheelhouse(service / "requirements.txt", python=base.python, arch=base.arch,
                      cache_dir=default_cache_dir())
    phases.timed(f"{name}: wheelhouse", started)
    started = time.monotonic()
    built = build_image(service, load(service), f"localhost/fastfn-test/{name}:1")
    phases.timed(f"{name}: build ({built.cached_steps}/{built.steps} steps cached, "
                 f"{built.size / 1e6:.0f} MB)", started)
    started = time.monotonic()
    push_image(built.reference, local_reference(reference, cloud.registry.address))
    phases.timed(f"{name}: push", started)
    return reference
