"""Fixtures for the image tests: the real tools (buildah, mmdebstrap, skopeo,
docker-registry), the Debian-built base made once per machine (buildah's storage keeps
it; later runs find it by its key) and the `hello` service built once per session.

The wheelhouse cache is the user's (`~/.cache/fastfn`, or FASTFN_CACHE_DIR), so a CI run
downloads the wheels once. Skipped where the tools are not installed (setup.sh installs
them) or where buildah cannot run (it needs root or user namespaces).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.deploy.image.base import BaseImage, BaseSpec, ensure_base
from fastfn.deploy.image.buildah import ImageBuild, build_image
from fastfn.localcloud.registry import LocalRegistry
from fastfn.manifest import load

SERVICE = Path(__file__).parent / "service"
TOOLS = ("buildah", "mmdebstrap", "skopeo", "docker-registry")


@pytest.fixture(autouse=True)
def default_local_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image tests deploy with the default build (the image), not the suite's
    source-folder setting."""
    monkeypatch.delenv("FASTFN_LOCAL_BUILD", raising=False)


def _missing() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@pytest.fixture(scope="session")
def base() -> BaseImage:
    missing = _missing()
    if missing:
        pytest.skip(f"image tools not installed: {', '.join(missing)} (scripts/setup.sh)")
    if os.geteuid() != 0:
        pytest.skip("the image tests run buildah as root (as CI does)")
    return ensure_base(BaseSpec())


@pytest.fixture(scope="session")
def service_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("images") / "hello"
    shutil.copytree(SERVICE, target)
    return target


@pytest.fixture(scope="session")
def tag() -> Iterator[str]:
    name = f"localhost/fastfn-test/hello-{os.getpid()}:t"
    yield name
    untag(name)


@pytest.fixture
def drop_names() -> Iterator[list[str]]:
    """Image names a test made, dropped when it ends."""
    names: list[str] = []
    yield names
    untag(*names)


def untag(*names: str) -> None:
    """Drop the test's names (the layers stay in buildah's cache for the next run)."""
    for name in names:
        subprocess.run(["buildah", "rmi", name], check=False, capture_output=True)
        subprocess.run(["buildah", "manifest", "rm", name], check=False,
                       capture_output=True)


@pytest.fixture(scope="session")
def built(base: BaseImage, service_copy: Path, tag: str) -> ImageBuild:
    return build_image(service_copy, load(service_copy), tag)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    with LocalRegistry(tmp_path / "registry") as running:
        yield running
