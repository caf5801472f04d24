"""The local Container Registry: the Artifacts API through the real SDK, and the registry's
manifests (Docker Registry API v2) with OCI-signed requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import oci
import pytest
import requests

from fastfn.localcloud.oci import LocalCloud

TENANCY = """
compartments: [{name: Sandbox}]
container_repositories: [{name: team/declared, compartment: Sandbox}]
container_image_signatures:
  - {image: "fra.ocir.io/ns/team/declared:v1", kms_key_id: ocid1.key.oc1..k,
     kms_key_version_id: ocid1.keyversion.oc1..v}
"""


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    (tmp_path / "tenancy.yaml").write_text(TENANCY)
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("app = None\n")
    with LocalCloud(tmp_path / "state", tenancy_file=tmp_path / "tenancy.yaml") as running:
        running.images.put("fra.ocir.io/ns/team/declared:v1", src, "main:app")
        running.images.put("fra.ocir.io/ns/pushed/first:v2", src, "main:app",
                           command=["uvicorn", "main:app"],
                           platforms=["linux/amd64", "linux/arm64"])
        yield running


def test_repositories_images_and_signatures(cloud: LocalCloud) -> None:
    art = cloud.client(oci.artifacts.ArtifactsClient)
    root = cloud.tenancy_id
    repos = {r.display_name: r for r in art.list_container_repositories(
        root, compartment_id_in_subtree=True).data.items}
    assert set(repos) == {"team/declared", "pushed/first"}
    assert repos["pushed/first"].compartment_id == root  # created by the first push
    assert repos["team/declared"].compartment_id != root
    assert [r.display_name for r in art.list_container_repositories(root).data.items] == [
        "pushed/first"]
    images = art.list_container_images(repos["team/declared"].compartment_id,
                                       repository_id=repos["team/declared"].id).data.items
    assert [(i.version, i.repository_name) for i in images] == [("v1", "team/declared")]
    assert art.get_container_image(images[0].id).data.digest == images[0].digest
    assert art.list_container_images(root, compartment_id_in_subtree=True,
                                     version="nope").data.items == []
    sigs = art.list_container_image_signatures(
        repos["team/declared"].compartment_id, image_id=images[0].id).data.items
    assert [s.kms_key_id for s in sigs] == ["ocid1.key.oc1..k"]
    with pytest.raises(oci.exceptions.ServiceError) as info:
        art.list_container_images(None, retry_strategy=oci.retry.NoneRetryStrategy())
    assert info.value.status == 400


def _signed_get(cloud: LocalCloud, path: str) -> requests.Response:
    c = cloud.config
    signer = oci.signer.Signer(c["tenancy"], c["user"], c["fingerprint"], c["key_file"])
    return requests.get(cloud.endpoint + path, auth=signer, timeout=10)


def test_manifests_say_the_platforms_and_the_command(cloud: LocalCloud) -> None:
    one = _signed_get(cloud, "/v2/ns/team/declared/manifests/v1")
    assert one.status_code == 200
    config = _signed_get(cloud, f"/v2/ns/team/declared/blobs/{one.json()['config']['digest']}")
    assert config.json()["config"]["Cmd"] == ["fastfn", "serve", "main:app"]
    index = _signed_get(cloud, "/v2/ns/pushed/first/manifests/v2").json()
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    child = _signed_get(cloud, f"/v2/ns/pushed/first/manifests/{index['manifests'][1]['digest']}")
    arm = _signed_get(cloud, f"/v2/ns/pushed/first/blobs/{child.json()['config']['digest']}")
    assert (arm.json()["architecture"], arm.json()["config"]["Cmd"]) == (
        "arm64", ["uvicorn", "main:app"])
    missing = _signed_get(cloud, "/v2/ns/pushed/first/manifests/nope")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == \
        "MANIFEST_UNKNOWN"
    assert requests.get(cloud.endpoint + "/v2/ns/pushed/first/manifests/v2",
                        timeout=10).status_code == 401
