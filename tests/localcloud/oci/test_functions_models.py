"""Functions' Create/Update bodies of both API versions, field by field, driven by the
real oci CLI (20260325 commands; `oci raw-request` for 20181201 and for bodies the
commands cannot send)."""

from __future__ import annotations

import json

import pytest

from fastfn.localcloud.oci import LocalCloud

from support.oci import APPS, IMAGE
from support.oci_cli import cli, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def raw(cloud: LocalCloud, method: str, path: str, body: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = cli(cloud, "raw-request", "--http-method", method, "--target-uri",
               f"{cloud.endpoint}{path}", "--request-body", json.dumps(body), check=False)
    answer = json.loads(done.stdout)
    return answer["status"].split()[0] and int(answer["status"].split()[0]), answer["data"]


def test_function_models_with_the_cli(cloud: LocalCloud) -> None:
    digest = cloud.images.put(IMAGE, APPS, "ocifn:app")
    app = run(cloud, "fn", "application", "create", "--compartment-id", cloud.compartment_id,
              "--display-name", "models", "--subnet-ids", json.dumps([cloud.subnet_id]),
              "--config", json.dumps({"A": "1"}))["data"]
    fn = run(cloud, "fn", "function", "create", "container-function",
             "--application-id", app["id"], "--display-name", "f", "--image", IMAGE,
             "--memory-in-mbs", "128")["data"]
    assert fn["source-details"]["image-digest"] == digest

    # A console-style edit: config and timeout without --image (sourceDetails, no image).
    run(cloud, "fn", "function", "update", "container-function", "--function-id", fn["id"],
        "--config", json.dumps({"B": "2"}), "--timeout-in-seconds", "60", "--force")
    updated = run(cloud, "fn", "function", "get", "--function-id", fn["id"])["data"]
    assert (updated["config"], updated["timeout-in-seconds"]) == ({"B": "2"}, 60)
    assert updated["source-details"]["image"] == IMAGE
    assert updated["source-details"]["image-digest"] == digest

    base = f"/20260325/functions/{fn['id']}"
    status, data = raw(cloud, "PUT", base, {"timeoutInSeconds": 90, "bogus": 1})
    assert (status, data["code"]) == (400, "InvalidParameter")
    assert "bogus" in data["message"]
    # Read-only fields sent back (a GET body edited) are ignored, not refused.
    status, data = raw(cloud, "PUT", base, {"timeoutInSeconds": 90, "id": "x",
                                            "lifecycleState": "DELETED"})
    assert status == 202  # 20260325 updates are work requests
    got = run(cloud, "fn", "function", "get", "--function-id", fn["id"])["data"]
    assert (got["timeout-in-seconds"], got["id"], got["lifecycle-state"]) == (
        90, fn["id"], "ACTIVE")
    status, data = raw(cloud, "PUT", base, {"sourceDetails": {"sourceType": "ARCHIVE"}})
    assert status == 400 and "CONTAINER_IMAGE" in data["message"]
    status, data = raw(cloud, "PUT", base, {"memoryInMBs": 100})
    assert status == 400 and "memoryInMBs" in data["message"]
    status, data = raw(cloud, "POST", "/20260325/functions", {
        "displayName": "g", "applicationId": app["id"], "memoryInMBs": 128,
        "sourceDetails": {"sourceType": "CONTAINER_IMAGE"}})
    assert status == 400 and "image" in data["message"]
    status, data = raw(cloud, "POST", "/20260325/functions", {
        "displayName": "g", "applicationId": app["id"],
        "sourceDetails": {"sourceType": "CONTAINER_IMAGE", "image": IMAGE}})
    assert status == 400 and "memoryInMBs" in data["message"]

    # 20181201: the image at the top level, required on create, optional on update.
    status, data = raw(cloud, "POST", "/20181201/functions", {
        "displayName": "old", "applicationId": app["id"], "memoryInMBs": 128})
    assert status == 400 and "image" in data["message"]
    status, data = raw(cloud, "POST", "/20181201/functions", {
        "displayName": "old", "applicationId": app["id"], "memoryInMBs": 128,
        "image": IMAGE})
    assert status == 200 and data["image"] == IMAGE and "sourceDetails" not in data
    status, data = raw(cloud, "PUT", f"/20181201/functions/{data['id']}",
                       {"config": {"C": "3"}})
    assert status == 200 and data["config"] == {"C": "3"} and data["image"] == IMAGE
    status, data = raw(cloud, "PUT", f"/20181201/functions/{data['id']}",
                       {"sourceDetails": {"sourceType": "CONTAINER_IMAGE"}})
    assert status == 400 and "sourceDetails" in data["message"]

    # Applications: unknown fields refused, settings kept.
    status, data = raw(cloud, "PUT", f"/20260325/applications/{app['id']}",
                       {"config": {"A": "2"}, "shapeX": "GENERIC_ARM"})
    assert status == 400 and "shapeX" in data["message"]
    run(cloud, "fn", "application", "update", "--application-id", app["id"],
        "--config", json.dumps({"A": "2"}), "--force")
    got = run(cloud, "fn", "application", "get", "--application-id", app["id"])["data"]
    assert got["config"] == {"A": "2"}
