"""A damaged metadata database is refused at start-up, never served as an empty cloud."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.core.store import StateDamaged, open_checked


def cloud_with_an_object(state_dir: Path) -> None:
    with LocalCloud(state_dir) as cloud:
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
            name="keep", compartment_id=cloud.compartment_id))
        storage.put_object(cloud.namespace, "keep", "report.csv", b"a,b\n1,2\n")


@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage"])
def test_damaged_database_next_to_objects_is_refused(tmp_path: Path, damage: str) -> None:
    state = tmp_path / "cloud"
    cloud_with_an_object(state)
    db = StateLayout(state).db
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    if damage == "truncate":
        db.write_bytes(b"")
    elif damage == "delete":
        db.unlink()
    else:
        db.write_bytes(b"not a database at all, " * 200)
    with pytest.raises(StateDamaged, match=str(db.name)) as failure:
        LocalCloud(state).__enter__()
    assert "restore" in str(failure.value) and str(state) in str(failure.value)


def test_cloud_up_prints_the_error_without_a_traceback(tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    cloud_with_an_object(state)
    db = StateLayout(state).db
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    db.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "fastfn", "cloud", "up", "--state-dir", str(state)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "state.db is empty" in output and "Traceback" not in output


def test_a_new_state_dir_and_a_healthy_one_open(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path / "fresh")
    open_checked(layout.db, (layout.objects,)).close()
    state = tmp_path / "cloud"
    cloud_with_an_object(state)
    with LocalCloud(state) as cloud:  # restart on the same, healthy state
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        assert storage.get_object(cloud.namespace, "keep", "report.csv").data.content \
            == b"a,b\n1,2\n"
