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
from mailer.claims import Claim, Claims

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
