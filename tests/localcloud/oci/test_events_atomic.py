"""An object write and the event deliveries it causes commit together: when recording the
deliveries fails, the write fails and leaves nothing behind, so no upload is ever stored
without its event. The fault is a real SQLite trigger in the cloud's own state database;
everything else goes through the real oci SDK."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.events.models import DELIVERY

from support.oci import APPS, IMAGE
from support.oci_events import bucket, deploy, rule_on_uploads
from support.waiting import wait_for

TRIGGER = "refuse_event_deliveries"


@pytest.fixture
def refusing_deliveries(cloud: LocalCloud) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(StateLayout(cloud.state_dir).db, isolation_level=None)
    db.execute(f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON resources "
               f"WHEN NEW.kind = '{DELIVERY}' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    yield db
    db.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    db.close()


def test_an_upload_whose_event_cannot_be_recorded_is_not_stored(
        cloud: LocalCloud, tmp_path: Path, refusing_deliveries: sqlite3.Connection) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    rule_on_uploads(cloud, "in", deploy(cloud, markers).id)
    bucket(cloud, "in")
    # The SDK's default retries would repeat the failing put for a minute and more.
    storage = cloud.client(oci.object_storage.ObjectStorageClient,
                           retry_strategy=oci.retry.NoneRetryStrategy())

    with pytest.raises(oci.exceptions.ServiceError) as failed:
        storage.put_object(cloud.namespace, "in", "a.csv", b"report")
    assert failed.value.status >= 500
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        storage.head_object(cloud.namespace, "in", "a.csv")
    assert missing.value.status == 404
    assert cloud.event_deliveries() == []

    # Once deliveries can be recorded again, the retried upload is stored and delivered once.
    refusing_deliveries.execute(f"DROP TRIGGER {TRIGGER}")
    storage.put_object(cloud.namespace, "in", "a.csv", b"report")
    delivered = wait_for(lambda: cloud.event_deliveries("DELIVERED"))
    assert [d["resourceName"] for d in delivered] == ["a.csv"]
    assert len(list(markers.glob("event-*.json"))) == 1
    assert storage.head_object(cloud.namespace, "in", "a.csv").status == 200
