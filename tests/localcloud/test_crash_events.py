"""Event delivery across a cloud crash (issue 16): every event for an acknowledged object
put is delivered at least once after a `kill -9` of `fastfn cloud up` and a restart on the
same state dir, OCI's promise, with the real oci SDK against a real `fastfn cloud up`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import oci
import pytest
from oci.events.models import ActionDetailsList, CreateFaaSActionDetails, CreateRuleDetails
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
)

from fastfn.localcloud.oci.images import ImageStore

from support.cloud_process import CloudProcess
from support.oci import APPS

IMAGE = "fra.ocir.io/fastfnlocal/tests/slowevents:1"
UPLOADS = 16


def deploy_slow_function(cloud: CloudProcess, markers: Path) -> None:
    ImageStore.open(cloud.state_dir).put(IMAGE, APPS, "slowevents:app")
    management = cloud.client(oci.functions.FunctionsManagementClient)
    app = management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="crash", subnet_ids=[cloud.subnet_id],
        config={"FASTFN_EVENT_ROUTE": "POST /events", "MARKER_DIR": str(markers),
                "SLEEP_S": "0.5"})).data
    fn = management.create_function(CreateFunctionDetails(
        display_name="on-upload", application_id=app.id, memory_in_mbs=128,
        source_details=CreateContainerImageFunctionSourceDetails(image=IMAGE))).data
    cloud.client(oci.events.EventsClient).create_rule(CreateRuleDetails(
        display_name="uploads", is_enabled=True, compartment_id=cloud.compartment_id,
        condition=json.dumps({"eventType": ["com.oraclecloud.objectstorage.createobject"]}),
        actions=ActionDetailsList(actions=[CreateFaaSActionDetails(
            action_type="FAAS", is_enabled=True, function_id=fn.id)])))
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
        name="uploads", compartment_id=cloud.compartment_id, object_events_enabled=True))


def etags(markers: Path, kind: str) -> list[str]:
    return [p.name.split("-", 1)[1].rsplit("-", 1)[0] for p in markers.glob(f"{kind}-*")]


@pytest.mark.slow
def test_every_acknowledged_put_is_delivered_after_kill_9_and_restart(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    cloud = CloudProcess(tmp_path / "state", tmp_path / "cloud.log").start()
    try:
        deploy_slow_function(cloud, markers)
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        acknowledged = [storage.put_object(cloud.namespace, "uploads", f"r-{i}.csv",
                                           b"report %d" % i).headers["etag"]
                        for i in range(UPLOADS)]
        # Kill while deliveries are under way: some started, not all finished.
        deadline = time.monotonic() + 60
        while not etags(markers, "started"):
            assert time.monotonic() < deadline, "no delivery started"
            time.sleep(0.02)
        cloud.kill9()
        done_before = set(etags(markers, "done"))
        assert len(done_before) < UPLOADS, "every delivery finished before the kill"

        cloud.start()
        deadline = time.monotonic() + 120
        while not set(acknowledged) <= set(etags(markers, "done")):
            assert time.monotonic() < deadline, (
                f"never delivered: {set(acknowledged) - set(etags(markers, 'done'))}; "
                f"{(tmp_path / 'cloud.log').read_text()[-3000:]}")
            time.sleep(0.1)
        # What was cut off by the kill (started, never done) was delivered again.
        cut_off = set(etags(markers, "started")) - done_before
        assert cut_off & set(acknowledged)
    finally:
        cloud.stop()
    assert set(etags(markers, "done")) == set(acknowledged)
