"""Real images with buildah (no Docker daemon): the Debian base, the build of a service,
its layer cache, a push to the real registry read back with skopeo, and `fastfn build`
then `fastfn deploy --set build=image` against the local cloud."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest
from typer.testing import CliRunner

from fastfn.cli import app
from fastfn.deploy.image.base import KEY_LABEL, BaseImage, BaseSpec, ensure_base
from fastfn.deploy.image.buildah import (
    ImageBuild,
    build_image,
    inspect_image,
    push_image,
    remote_manifest,
)
from fastfn.deploy.image.tools import ImageToolError, can_run
from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.registry import LocalRegistry, local_reference
from fastfn.manifest import load

pytestmark = pytest.mark.slow
SERVICE = Path(__file__).parent / "service"


@pytest.fixture
def mounted(built: ImageBuild) -> Iterator[Path]:
    """The built image's root filesystem, mounted read-only through a working container."""
    container = subprocess.run(["buildah", "from", "--pull-never", "--quiet",
                                built.image_id], check=True, capture_output=True,
                               text=True).stdout.strip()
    try:
        root = subprocess.run(["buildah", "mount", container], check=True,
                              capture_output=True, text=True).stdout.strip()
        yield Path(root)
    finally:
        subprocess.run(["buildah", "rm", container], check=False, capture_output=True)


def test_base_is_built_once_and_then_found_by_its_key(base: BaseImage) -> None:
    again = ensure_base(BaseSpec())
    assert (again.built, again.image_id) == (False, base.image_id)
    labels = inspect_image(base.reference)["config"]["config"]["Labels"]  # type: ignore[index]
    assert labels[KEY_LABEL] == BaseSpec().key
    # Another package list is another base (not the cached one).
    assert BaseSpec(packages=("python3",)).key != BaseSpec().key


def test_image_runs_fastfn_serve_as_uid_1000_with_bytecode(built: ImageBuild,
                                                           mounted: Path) -> None:
    config = inspect_image(built.image_id)["config"]
    assert config["architecture"] == "amd64"  # type: ignore[index]
    assert config["config"]["User"] == "1000:1000"  # type: ignore[index]
    assert config["config"]["Cmd"] == ["fastfn", "serve", "app:app"]  # type: ignore[index]
    assert built.python == "3.11" and built.platforms == ("linux/amd64",)
    assert (mounted / "function/app.py").is_file()
    assert list((mounted / "function/__pycache__").glob("app.cpython-311.pyc"))
    site = mounted / "opt/venv/lib/python3.11/site-packages"
    assert list((site / "fastfn/runtime/__pycache__").glob("serve.cpython-311.pyc"))
    assert (mounted / "opt/venv/bin/fastfn").is_file()
    assert list(site.glob("httptools-*.dist-info"))  # fastfn's own dependency, offline
    # .dockerignore honoured: neither the ignored directory nor the pattern's file.
    assert not (mounted / "function/notes").exists()
    assert not (mounted / "function/settings.local").exists()
    assert (mounted / "function/fastfn.yaml").is_file()


def test_unchanged_rebuild_reuses_every_layer(built: ImageBuild, service_copy: Path,
                                              tag: str) -> None:
    again = build_image(service_copy, load(service_copy), tag)
    assert again.image_id == built.image_id
    assert again.layers == built.layers
    # Every step but the two FROMs came from buildah's cache.
    assert again.cached_steps == again.steps - 2 > 0
    # A code change rebuilds from `COPY . /function`: the dependency layer is reused.
    (service_copy / "extra.py").write_text("X = 1\n")
    try:
        changed = build_image(service_copy, load(service_copy), tag)
    finally:
        (service_copy / "extra.py").unlink()
    assert changed.image_id != built.image_id
    assert changed.cached_steps >= 5  # venv, requirements, pip install, ...
    assert changed.layers[0] == built.layers[0]  # the base


def test_push_to_the_registry_and_read_the_manifest_back(built: ImageBuild,
                                                         registry: LocalRegistry) -> None:
    destination = local_reference("fra.ocir.io/ns/hello:1", registry.address)
    assert destination == f"{registry.address}/ns/hello:1"
    pushed = push_image(built.image_id, destination)
    reference, digest = pushed.rsplit("@", 1)
    assert reference == destination and digest.startswith("sha256:")
    raw = remote_manifest(destination)
    assert len(raw["layers"]) == len(built.layers)  # type: ignore[arg-type]
    seen = remote_manifest(f"{registry.address}/ns/hello@{digest}", raw=False)
    assert seen["Architecture"] == "amd64" and seen["Digest"] == digest
    # An unknown digest is a real pull failure.
    with pytest.raises(ImageToolError, match=r"manifest unknown|not found"):
        remote_manifest(f"{registry.address}/ns/hello@sha256:{'0' * 64}")


def test_build_then_deploy_puts_the_image_into_the_local_registry(
        built: ImageBuild, service_copy: Path, tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    runner = CliRunner()
    with LocalCloud(state, registry=True) as cloud:
        result = runner.invoke(app, ["build", str(service_copy), "--push", "--json",
                                     "--state-dir", str(state)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert out["pushed"].startswith(f"{cloud.registry.address}/fastfn/hello:default@")
        result = runner.invoke(app, ["deploy", str(service_copy), "--cloud-state",
                                     str(state), "--set", "build=image", "--json"],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        functions = cloud.client(oci.functions.FunctionsManagementClient)
        apps = functions.list_applications(cloud.compartment_id, display_name="hello").data
        summary = functions.list_functions(apps[0].id, display_name="hello").data[0]
        fn = functions.get_function(summary.id).data
        assert fn.source_details.image == "local.ocir.io/fastfn/hello:default"
        # The function names the digest the registry stores for that tag.
        served = remote_manifest(f"{cloud.registry.address}/fastfn/hello:default",
                                 raw=False)
        assert fn.source_details.image_digest == served["Digest"] == out["pushed"].rsplit("@", 1)[1]


def test_x86_arm_shape_gives_an_index_of_what_this_machine_can_build(
        base: BaseImage, tmp_path: Path, registry: LocalRegistry,
        drop_names: list[str]) -> None:
    service = tmp_path / "hello"
    shutil.copytree(SERVICE, service)
    manifest_file = service / "fastfn.yaml"
    manifest_file.write_text(manifest_file.read_text().replace("GENERIC_X86",
                                                               "GENERIC_X86_ARM"))
    name = f"localhost/fastfn-test/multi-{os.getpid()}:t"
    drop_names += [name, f"{name}-amd64", f"{name}-arm64"]
    built = build_image(service, load(service), name)
    assert built.is_index
    if can_run("arm64"):
        assert built.platforms == ("linux/amd64", "linux/arm64")
    else:  # no binfmt/qemu-user here: the limit is stated, the index still correct
        assert built.platforms == ("linux/amd64",)
        assert any("qemu-user-static" in warning for warning in built.warnings)
    destination = f"{registry.address}/ns/multi:1"
    pushed = push_image(built.reference, destination, is_index=True)
    index = remote_manifest(destination)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platforms = [f"{m['platform']['os']}/{m['platform']['architecture']}"  # type: ignore[index]
                 for m in index["manifests"]]  # type: ignore[union-attr]
    assert tuple(platforms) == built.platforms
    digest = pushed.rsplit("@", 1)[1]
    by_digest = remote_manifest(f"{registry.address}/ns/multi@{digest}")
    assert by_digest["manifests"] == index["manifests"]
