"""Events: a rule on object uploads fires the function with the exact OCI payload."""

from __future__ import annotations

import json
import time
from pathlib import Path

import oci
import pytest
from oci.events.models import ActionDetailsList, CreateFaaSActionDetails, CreateRuleDetails

from fastfn.localcloud.oci import LocalCloud, event_deliveries
from fastfn.localcloud.oci.events.models import matches

from support.oci import APPS, IMAGE
from support.oci_events import UPLOAD, bucket, deploy, rule_on_uploads
from support.waiting import wait_for


def recorded(markers: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(markers.glob("event-*.json"))]


def test_upload_fires_the_function_with_the_oci_payload(cloud: LocalCloud,
                                                         tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = deploy(cloud, markers)
    rule = rule_on_uploads(cloud, "reports", fn.id)
    assert isinstance(rule, oci.events.models.Rule)
    assert rule.actions.actions[0].function_id == fn.id
    storage = bucket(cloud, "reports")
    other = bucket(cloud, "quiet", events=False)
    other.put_object(cloud.namespace, "quiet", "x.csv", b"no events here")
    etag = storage.put_object(cloud.namespace, "reports", "2026/usage.csv.gz",
                              b"data").headers["etag"]

    event = wait_for(lambda: recorded(markers))[0]["event"]
    assert set(event) == {"cloudEventsVersion", "eventID", "eventType", "source",
                          "eventTypeVersion", "eventTime", "contentType", "extensions", "data"}
    assert event["cloudEventsVersion"] == "0.1"
    assert event["eventType"] == UPLOAD
    assert event["source"] in ("ObjectStorage", "objectstorage")
    assert event["eventTypeVersion"] == "2.0"
    assert event["contentType"] == "application/json"
    assert event["extensions"] == {"compartmentId": cloud.compartment_id}
    bucket_id = storage.get_bucket(cloud.namespace, "reports").data.id
    assert event["data"] == {
        "compartmentId": cloud.compartment_id, "compartmentName": "local",
        "resourceName": "2026/usage.csv.gz",
        "resourceId": f"/n/{cloud.namespace}/b/reports/o/2026/usage.csv.gz",
        "availabilityDomain": "all",
        "additionalDetails": {"eTag": etag, "namespace": cloud.namespace,
                              "bucketName": "reports", "bucketId": bucket_id,
                              "archivalState": "Available"},
    }
    assert "bucketName" not in event["data"]  # seed 003's mistake
    delivered = wait_for(lambda: cloud.event_deliveries("DELIVERED"))
    assert delivered[0]["attempts"] == 1

    # An update (same name again) is not a createobject: the rule does not fire.
    storage.put_object(cloud.namespace, "reports", "2026/usage.csv.gz", b"v2")
    time.sleep(0.5)
    assert len(recorded(markers)) == 1


def test_failed_deliveries_are_retried(cloud: LocalCloud, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = deploy(cloud, markers, fail_events=2)
    rule_on_uploads(cloud, "in", fn.id)
    bucket(cloud, "in").put_object(cloud.namespace, "in", "a.txt", b"a")
    delivered = wait_for(lambda: cloud.event_deliveries("DELIVERED"))
    assert delivered[0]["attempts"] == 3
    attempts = recorded(markers)
    assert len(attempts) == 3
    assert len({a["event"]["eventID"] for a in attempts}) == 1  # the same event each time


def test_exhausted_retries_are_recorded(cloud: LocalCloud, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    fn = deploy(cloud, markers, image="fra.ocir.io/fastfnlocal/never-pushed:1")
    rule = rule_on_uploads(cloud, "in", fn.id)
    bucket(cloud, "in").put_object(cloud.namespace, "in", "a.txt", b"a")
    failed = wait_for(lambda: cloud.event_deliveries("FAILED"))
    assert failed[0]["ruleId"] == rule.id
    assert failed[0]["attempts"] == 3  # first try + the two retries configured
    assert "FunctionInvokeImageNotAvailable" in failed[0]["lastError"]
    # The same record, read from the state dir by another connection (the CLI's way).
    assert event_deliveries(cloud.state_dir, "failed") == failed


@pytest.mark.parametrize(("condition", "expected"), [
    ({}, True),
    ({"eventType": UPLOAD}, True),
    ({"eventType": [UPLOAD, "other"]}, True),
    ({"eventType": "com.oraclecloud.objectstorage.*"}, True),
    ({"eventType": "com.oraclecloud.objectstorage.deleteobject"}, False),
    ({"data": {"additionalDetails": {"bucketName": ["reports"]}}}, True),
    ({"data": {"additionalDetails": {"bucketName": ["other"]}}}, False),
    ({"data": {"bucketName": ["reports"]}}, False),  # not where OCI puts the bucket
    ({"data": {"resourceName": "*.csv"}}, True),
])
def test_condition_matching(condition: dict, expected: bool) -> None:
    event = {"eventType": UPLOAD, "data": {"resourceName": "usage.csv",
                                           "additionalDetails": {"bucketName": "reports"}}}
    assert matches(condition, event) is expected


def test_bad_rules_are_refused(cloud: LocalCloud) -> None:
    events = cloud.client(oci.events.EventsClient)
    for condition in ("not json", "[1]", json.dumps({"bogus": 1})):
        with pytest.raises(oci.exceptions.ServiceError) as info:
            events.create_rule(CreateRuleDetails(
                display_name="bad", is_enabled=True, condition=condition,
                compartment_id=cloud.compartment_id,
                actions=ActionDetailsList(actions=[CreateFaaSActionDetails(
                    action_type="FAAS", is_enabled=True, function_id="ocid1.fnfunc.oc1..x")])),
                retry_strategy=oci.retry.NoneRetryStrategy())
        assert (info.value.status, info.value.code) == (400, "InvalidParameter")
