"""Real images with buildah (no Docker daemon): the Debian base, the build of a service,
its layer cache, a push to the real registry read back with skopeo, and `fastfn build`
then `fastfn deploy` (the image is the local default) and `fastfn plan` (no push)
against the local cloud."""

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
    BUILD_KEY_LABEL,
    ImageBuild,
    build_image,
    inspect_image,
    push_image,
    remote_manifest,
)
from fastfn.deploy.image.key import content_key
from fastfn.deploy.image.tools import ImageToolError, can_run
from fastfn.deploy.steps import PENDING_DIGEST
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
    # The build's content key travels with the image, as a label of its config.
    labels = config["config"]["Labels"]  # type: ignore[index]
    assert labels[BUILD_KEY_LABEL] == built.content_key
    assert built.content_key == content_key(SERVICE, load(SERVICE))
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


def _cli(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def _served(registry: str, name: str) -> str | None:
    """The digest the registry serves for `name` (repo:tag), None when it has none."""
    try:
        return str(remote_manifest(f"{registry}/{name}", raw=False)["Digest"])
    except ImageToolError:
        return None


def test_build_then_deploy_puts_the_image_into_the_local_registry(
        built: ImageBuild, service_copy: Path, tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    with LocalCloud(state, registry=True) as cloud:
        assert cloud.registry is not None
        out = _cli("build", str(service_copy), "--push", "--cloud-state", str(state))
        assert out["pushed"].startswith(f"{cloud.registry.address}/fastfn/hello:default@")
        # The default build of a local deploy is the image (no --set build=...).
        deployed = _cli("deploy", str(service_copy), "--cloud-state", str(state))
        functions = cloud.client(oci.functions.FunctionsManagementClient)
        apps = functions.list_applications(cloud.compartment_id, display_name="hello").data
        summary = functions.list_functions(apps[0].id, display_name="hello").data[0]
        fn = functions.get_function(summary.id).data
        assert fn.source_details.image == "local.ocir.io/fastfn/hello:default"
        # The function names the digest the registry stores for that tag.
        served = _served(cloud.registry.address, "fastfn/hello:default")
        assert fn.source_details.image_digest == served == out["pushed"].rsplit("@", 1)[1]
        assert deployed["image"]["digest"] == served


def test_plan_pushes_nothing_and_knows_an_unchanged_image_by_its_content_key(
        built: ImageBuild, service_copy: Path, tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    with LocalCloud(state, registry=True) as cloud:
        assert cloud.registry is not None
        registry = cloud.registry.address
        where = ("--cloud-state", str(state))
        planned = _cli("plan", str(service_copy), *where)
        push = [c for c in planned["calls"] if c["operation"] == "push_image"]
        assert push and push[0]["params"]["digest"] == PENDING_DIGEST
        assert planned["artifact"]["digest"] == PENDING_DIGEST  # "digest after push"
        assert _served(registry, "fastfn/hello:default") is None  # the plan pushed nothing

        deployed = _cli("deploy", str(service_copy), *where)
        digest = deployed["image"]["digest"]
        assert digest.startswith("sha256:") and digest == _served(
            registry, "fastfn/hello:default")
        recorded = json.loads((service_copy / ".fastfn" / "deploy" / "default.json")
                              .read_text())
        assert recorded["digest"] == digest and recorded["build_key"].startswith("sha256:")

        # Unchanged: the recorded key gives the deployed digest, nothing to do.
        again = _cli("plan", str(service_copy), *where)
        assert again["calls"] == [] and again["artifact"]["digest"] == digest
        assert _cli("deploy", str(service_copy), *where)["mutating_calls"] == 0

        # A code change: a new image, planned without a push, pushed by the deploy.
        extra = service_copy / "extra.py"
        extra.write_text("ANSWER = 42\n")
        try:
            changed = _cli("plan", str(service_copy), *where)
            assert [c["operation"] for c in changed["calls"]] == ["push_image",
                                                                  "update_function"]
            update = changed["calls"][1]["params"]
            assert update["image_digest"] == PENDING_DIGEST
            assert _served(registry, "fastfn/hello:default") == digest  # still the old one
            redeployed = _cli("deploy", str(service_copy), *where)
            new_digest = redeployed["image"]["digest"]
            assert new_digest not in (digest, PENDING_DIGEST)
            assert new_digest == _served(registry, "fastfn/hello:default")
            functions = cloud.client(oci.functions.FunctionsManagementClient)
            fn_id = redeployed["ids"]["function"]
            assert functions.get_function(fn_id).data.source_details.image_digest == new_digest
        finally:
            extra.unlink()


def test_redeploy_without_deploy_state_reads_the_build_key_from_the_registry(
        built: ImageBuild, service_copy: Path, tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    deploy_state = service_copy / ".fastfn" / "deploy"
    with LocalCloud(state, registry=True) as cloud:
        assert cloud.registry is not None
        where = ("--cloud-state", str(state))
        digest = _cli("deploy", str(service_copy), *where)["image"]["digest"]
        shutil.rmtree(deploy_state)  # a fresh clone, another machine, state lost

        # The function's image at its digest carries this build's key: nothing to do.
        again = _cli("plan", str(service_copy), *where)
        assert again["calls"] == [] and again["artifact"]["digest"] == digest
        assert _cli("deploy", str(service_copy), *where)["mutating_calls"] == 0
        recorded = json.loads((deploy_state / "default.json").read_text())
        assert recorded["digest"] == digest  # state written again, with the key
        assert recorded["build_key"] == built.content_key

        # Without state, a code change is still a new image: pushed, one update.
        shutil.rmtree(deploy_state)
        extra = service_copy / "extra.py"
        extra.write_text("ANSWER = 42\n")
        try:
            changed = _cli("plan", str(service_copy), *where)
            assert [c["operation"] for c in changed["calls"]] == ["push_image",
                                                                  "update_function"]
            redeployed = _cli("deploy", str(service_copy), *where)
            assert redeployed["image"]["digest"] not in (digest, PENDING_DIGEST)
            assert redeployed["mutating_calls"] == 1  # update_function (the push is no API call)
        finally:
            extra.unlink()
            shutil.rmtree(deploy_state, ignore_errors=True)


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
