"""Marking a mailed report "sent" survives Object Storage being away for a few seconds
(issue: a lost mark let a redelivery mail the report twice after the lease)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

from support.mailer import EXAMPLE

sys.path.insert(0, str(EXAMPLE))
from mailer.claims import Claim, Claims, Taken
from mailer.errors import ConfigError
from mailer.settings import load_settings

BUCKET = "mailer-state"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def claimed(tmp_path: Path) -> Iterator[tuple[Path, int, Claims, Claim]]:
    port = free_port()
    state = tmp_path / "cloud"
    with LocalCloud(state, port=port) as cloud:
        storage = cloud.client(oci.object_storage.ObjectStorageClient,
                               retry_strategy=oci.retry.NoneRetryStrategy(), timeout=(1, 5))
        storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
            name=BUCKET, compartment_id=cloud.compartment_id))
        claims = Claims(storage, cloud.namespace, BUCKET)
        claim = claims.claim("etag-1", "event-1", "report.csv.gz", "call-1", lease_s=60)
        assert isinstance(claim, Claim)
    # The cloud is gone now: Object Storage unreachable.
    yield state, port, claims, claim


def marker_state(state: Path, port: int) -> str:
    with LocalCloud(state, port=port) as cloud:
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        data = storage.get_object(cloud.namespace, BUCKET, "sent/etag-1").data.content
        return json.loads(data)["state"]


def test_mark_retries_until_object_storage_is_back(claimed) -> None:
    state, port, claims, claim = claimed
    back = threading.Event()

    def come_back() -> None:
        time.sleep(1.5)
        with LocalCloud(state, port=port):
            back.set()
            time.sleep(6)

    thread = threading.Thread(target=come_back)
    thread.start()
    try:
        assert claims.complete(claim, {"state": "sending"}, until=time.monotonic() + 8)
        assert back.is_set()
    finally:
        thread.join()
    assert marker_state(state, port) == "sent"


def test_mark_gives_up_at_its_deadline(claimed) -> None:
    state, port, claims, claim = claimed
    started = time.monotonic()
    assert not claims.complete(claim, {"state": "sending"}, until=time.monotonic() + 1.0)
    assert time.monotonic() - started < 6
    assert marker_state(state, port) == "sending"  # the lease protects it from now on


def test_an_unknown_outcome_keeps_the_claim_until_its_lease(tmp_path: Path) -> None:
    with LocalCloud(tmp_path / "cloud") as cloud:
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
            name=BUCKET, compartment_id=cloud.compartment_id))
        claims = Claims(storage, cloud.namespace, BUCKET, lease_slack_s=1.5)
        claim = claims.claim("etag-2", "event-1", "report.csv.gz", "call-1", lease_s=0)
        assert isinstance(claim, Claim)
        claims.keep_unknown(claim, "no answer to DATA")
        data = storage.get_object(cloud.namespace, BUCKET, "sent/etag-2").data.content
        kept = json.loads(data)
        assert kept["state"] == "unknown"
        assert kept["lease_until"] == claim.marker["lease_until"]  # not extended
        busy = claims.claim("etag-2", "event-1", "report.csv.gz", "call-2", lease_s=0)
        assert isinstance(busy, Taken) and busy.state == "busy"
        while time.time() <= kept["lease_until"]:
            time.sleep(0.1)
        taken = claims.claim("etag-2", "event-1", "report.csv.gz", "call-3", lease_s=0)
        assert isinstance(taken, Claim) and taken.marker["call_id"] == "call-3"


ENV = {"BUCKET_NAME": "b", "EMAIL_FROM": "a@example.com", "EMAIL_TO": "c@example.com",
       "NAMESPACE": "n", "REGION": "r", "SMTP_SERVER": "h", "SMTP_PORT": "587",
       "SMTP_USERNAME_SECRET_OCID": "vault:ocid1.vaultsecret.oc1..u",
       "SMTP_PASSWORD_SECRET_OCID": "vault:ocid1.vaultsecret.oc1..p"}


def test_the_lease_slack_is_configurable() -> None:
    assert load_settings(ENV).claim_lease_slack_s == 10.0
    assert load_settings({**ENV, "CLAIM_LEASE_SLACK_S": "2.5"}).claim_lease_slack_s == 2.5
    for bad in ("0", "abc", "601"):
        with pytest.raises(ConfigError, match="CLAIM_LEASE_SLACK_S"):
            load_settings({**ENV, "CLAIM_LEASE_SLACK_S": bad})
