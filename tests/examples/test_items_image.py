"""The items service run from its real image on the local cloud: built with buildah on
the Debian base, pushed to the cloud's registry (docker-registry), pulled by the local
Functions service (skopeo + umoci) and run with crun as uid 1000. The same calls answer
as from the source folder; an image whose requirements.txt lacks a dependency fails at
start with the import error in the function's log (the source folder, run with this
machine's packages, passes); an arm64-only image is refused on an X86 application.
Cold start from the image vs from source is measured in bench/image_cold_start.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import oci
import pytest
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
)

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.postgres import DatabaseLogin
from fastfn.manifest import load

from support.images import Phases, build_and_push
from support.items import EXAMPLES

HELLO = Path(__file__).resolve().parents[1] / "images" / "service"

# Two image builds (buildah, pip from the wheelhouse) and cold pulls: minutes on CI.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

BODY = json.dumps({"name": "pen", "description": "blue"})


@dataclass
class Images:
    cloud: LocalCloud
    items: str  # local.ocir.io/... name of the items image (pushed)
    broken: str  # a small service importing psycopg_pool, absent from its requirements.txt
    broken_dir: Path


def _broken_service(work: Path) -> Path:
    """The image tests' small service, importing a package this machine's venv has but its
    requirements.txt lacks (a small image: the items image takes minutes to build)."""
    broken = work / "hello-broken"
    shutil.copytree(HELLO, broken, ignore=shutil.ignore_patterns("__pycache__"))
    app = broken / "app.py"
    assert "psycopg" not in (broken / "requirements.txt").read_text()
    app.write_text("import psycopg_pool  # noqa: F401  (not in requirements.txt)\n"
                   + app.read_text())
    return broken


@pytest.fixture(scope="module")
def images(image_cloud: LocalCloud, image_phases: Phases,
           tmp_path_factory: pytest.TempPathFactory) -> Images:
    broken_dir = _broken_service(tmp_path_factory.mktemp("image-run"))
    return Images(image_cloud,
                  build_and_push(image_cloud, EXAMPLES / "items", "items", image_phases),
                  build_and_push(image_cloud, broken_dir, "hello-broken", image_phases),
                  broken_dir)


def _function(cloud: LocalCloud, app_id: str, name: str, image: str,
              config: dict[str, str]) -> oci.functions.models.Function:
    management = cloud.client(oci.functions.FunctionsManagementClient)
    return management.create_function(CreateFunctionDetails(
        display_name=name, application_id=app_id, memory_in_mbs=256,
        timeout_in_seconds=30, config=config,
        source_details=CreateContainerImageFunctionSourceDetails(image=image))).data


def _items_config(db: DatabaseLogin) -> dict[str, str]:
    # The service's own config: DATABASE_URL is the reference `env:ITEMS_DATABASE_URL`.
    return {**load(EXAMPLES / "items").resolve().function_config(),
            "ITEMS_DATABASE_URL": db.dsn}


def _application(cloud: LocalCloud, name: str, shape: str = "GENERIC_X86") -> str:
    management = cloud.client(oci.functions.FunctionsManagementClient)
    return management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name=name, shape=shape,
        subnet_ids=[cloud.subnet_id])).data.id


def _invoke(cloud: LocalCloud, fn: oci.functions.models.Function,
            body: str) -> tuple[int, str, bytes]:
    client = oci.functions.FunctionsInvokeClient(cloud.config,
                                                 service_endpoint=fn.invoke_endpoint)
    client.base_client.timeout = (10, 300)  # a cold pull of a fresh image takes a while
    try:
        response = client.invoke_function(fn.id, invoke_function_body=body)
    except oci.exceptions.ServiceError as exc:
        return exc.status, exc.code, b""
    return response.status, response.headers["Fn-Http-Status"], response.data.content


def _container_processes(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split()
            found += [int(c) for c in children]
            todo += [int(c) for c in children]
    return found


def test_items_from_its_image_answers_as_from_source(images: Images,
                                                     items_db: DatabaseLogin) -> None:
    cloud = images.cloud
    app_id = _application(cloud, "items-image")
    config = _items_config(items_db)
    snapshot = "local.ocir.io/fastfnlocal/items-source:1"
    cloud.images.put(snapshot, EXAMPLES / "items", "main:app")
    from_image = _function(cloud, app_id, "items-image", images.items, config)
    from_source = _function(cloud, app_id, "items-source", snapshot, config)
    assert from_image.source_details.image_digest.startswith("sha256:")

    answers = []
    for fn in (from_image, from_source):
        status, http_status, body = _invoke(cloud, fn, BODY)
        assert (status, http_status) == (200, "201"), body
        created = json.loads(body)
        answers.append({k: v for k, v in created.items() if k not in ("id", "created_at")})
        status, http_status, body = _invoke(cloud, fn, "not json")
        assert (status, http_status) == (200, "422")
    assert answers[0] == answers[1] and answers[0]["name"] == "pen"

    # The image instance: crun, uid 1000 inside its user namespace, bytecode shipped.
    platform = cloud.services.functions.platform()  # type: ignore[union-attr]
    instance = next(i for i in platform.started_instances
                    if i.spec.fn_id == from_image.id and i.alive)
    assert instance.process is not None
    pids = _container_processes(instance.process.pid)
    uid_maps = [Path(f"/proc/{p}/uid_map").read_text().split() for p in pids]
    assert ["1000", str(os.geteuid()), "1"] in uid_maps
    config_json = json.loads((instance.socket_dir.parent / "config.json").read_text())
    assert config_json["process"]["user"] == {"uid": 1000, "gid": 1000}
    assert config_json["root"]["readonly"] is True
    rootfs = Path(config_json["root"]["path"])
    assert list((rootfs / "function" / "__pycache__").glob("main.*.pyc"))

    # Its output reaches the function's log, as from source (what `fastfn logs` reads).
    logged = [e["line"] for e in cloud.services.functions.logs.read("items-image")]  # type: ignore[union-attr]
    assert logged, "the image function's output was not logged"


def test_missing_dependency_fails_at_image_start_with_the_import_error(
        images: Images) -> None:
    cloud = images.cloud
    app_id = _application(cloud, "hello-broken")
    snapshot = "local.ocir.io/fastfnlocal/hello-broken-source:1"
    cloud.images.put(snapshot, images.broken_dir, "app:app")
    config = {"FASTFN_DEFAULT_ROUTE": "POST /"}  # a direct invoke has no method or path
    from_source = _function(cloud, app_id, "broken-source", snapshot, config)
    assert _invoke(cloud, from_source, BODY)[:2] == (200, "200")

    from_image = _function(cloud, app_id, "broken-image", images.broken, config)
    status, code, _ = _invoke(cloud, from_image, BODY)
    assert (status, code) == (502, "FunctionInvokeContainerFailed")
    logged = "\n".join(e["line"] for e in cloud.services.functions.logs.read("broken-image"))  # type: ignore[union-attr]
    assert "No module named 'psycopg_pool'" in logged


def test_arm64_only_image_is_refused_on_an_x86_application(images: Images,
                                                           tmp_path: Path) -> None:
    cloud = images.cloud
    assert cloud.registry is not None
    source = f"docker://{cloud.registry.address}/fastfnlocal/items:1"
    arm = f"{cloud.registry.address}/fastfnlocal/items-arm:1"
    layout = tmp_path / "layout"
    # The same image, its config saying arm64: an arm64-only manifest in the registry.
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                    source, f"oci:{layout}:img"], check=True)
    subprocess.run(["umoci", "config", "--image", f"{layout}:img", "--architecture", "arm64"],
                   check=True)
    app_id = _application(cloud, "items-x86")
    # Created before the arm64 image exists (nothing to check yet), pushed, then invoked:
    # the pull finds no linux/amd64 manifest.
    early = _function(cloud, app_id, "early", "local.ocir.io/fastfnlocal/items-arm:1", {})
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet",
                    "--dest-tls-verify=false", f"oci:{layout}:img", f"docker://{arm}"],
                   check=True)
    assert _invoke(cloud, early, BODY)[:2] == (502, "FunctionInvokeImageNotAvailable")
    # Created after: refused at once, as OCI refuses it at deploy time.
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _function(cloud, app_id, "late", "local.ocir.io/fastfnlocal/items-arm:1", {})
    assert refused.value.status == 400
    assert "architecture 'arm64' is incompatible" in refused.value.message
    # The cloud's /v2 route (what `fastfn doctor` reads) shows the registry's images.
    from fastfn.doctor.oci.registry import signed_reader

    reader = signed_reader(cloud.config, cloud.endpoint)
    assert reader.image_config("local.ocir.io", "fastfnlocal/items-arm", "1").platforms == (
        "linux/arm64",)
    assert reader.image_config("local.ocir.io", "fastfnlocal/items", "1").command[-2:] == (
        "serve", "main:app")
    # An unknown tag is the same pull error.
    unknown = _function(cloud, app_id, "unknown", "local.ocir.io/fastfnlocal/items:nope", {})
    assert _invoke(cloud, unknown, BODY)[:2] == (502, "FunctionInvokeImageNotAvailable")


def test_chroot_fallback_runs_the_same_image_as_uid_1000(
        images: Images, items_db: DatabaseLogin, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a kernel that refuses namespaces gets: the unpacked rootfs in a chroot.
    monkeypatch.setenv("FASTFN_IMAGE_ISOLATION", "chroot")
    cloud = images.cloud
    app_id = _application(cloud, "items-chroot")
    fn = _function(cloud, app_id, "items-chroot", images.items, _items_config(items_db))
    status, http_status, body = _invoke(cloud, fn, BODY)
    assert (status, http_status) == (200, "201"), body
    platform = cloud.services.functions.platform()  # type: ignore[union-attr]
    instance = next(i for i in platform.started_instances
                    if i.spec.fn_id == fn.id and i.alive)
    assert instance.process is not None
    status_lines = Path(f"/proc/{instance.process.pid}/status").read_text().splitlines()
    uid = next(line for line in status_lines if line.startswith("Uid:")).split()[1:]
    assert uid == ["1000"] * 4
