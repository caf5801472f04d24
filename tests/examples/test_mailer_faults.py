"""The mailer across faults (issue 16): a function instance killed mid-SMTP, and `fastfn
cloud up` killed (`kill -9`) mid-delivery then restarted on the same state dir.

What the README promises, checked here: when the SMTP server had not accepted the message
before the crash, the report is mailed exactly once (after the dead claim's lease); when
it had (the crash came after acceptance, before the report was marked sent), it is mailed
once more, never twice more, with the same Message-ID."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.layout import StateLayout

from support.cloud_process import CloudProcess
from support.mailer import BUCKET, SMTPServer, deploy, gzip_report

pytestmark = pytest.mark.slow

STATE_BUCKET = f"{BUCKET}-mailer-state"
# A short function timeout and lease slack keep the claim's lease (remaining time +
# CLAIM_LEASE_SLACK_S) short: at most TIMEOUT_S + LEASE_SLACK_S after the kill.
TIMEOUT_S = 6
LEASE_SLACK_S = 1


class HeldData:
    """The SMTP server's first DATA: optionally stored (accepted) at once, then held
    without an answer until the test is over, so the sender is killed mid-SMTP."""

    def __init__(self, smtp: SMTPServer, accept_first: bool) -> None:
        self.original = smtp.handler.handle_DATA
        self.accept_first = accept_first
        self.in_data = threading.Event()
        self.over = threading.Event()
        smtp.handler.handle_DATA = self.handle_DATA  # looked up per SMTP session

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.in_data.is_set():
            return str(await self.original(server, session, envelope))
        if self.accept_first:
            await self.original(server, session, envelope)
        self.in_data.set()
        while not self.over.is_set():
            await asyncio.sleep(0.1)
        return "451 4.3.0 too late"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    with SMTPServer(tmp_path / "smtp") as server:
        yield server


def short_timeout(cloud: Any, function_id: str) -> None:
    cloud.client(oci.functions.FunctionsManagementClient).update_function(
        function_id, oci.functions.models.UpdateFunctionDetails(timeout_in_seconds=TIMEOUT_S))


def kill_instances(state_dir: Path) -> int:
    killed = 0
    for pid_file in StateLayout(state_dir).instances.rglob("i*.pid"):
        try:
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, ValueError, OSError):
            pass
    return killed


def mailed(smtp: SMTPServer, cloud: Any, timeout: float = 120) -> list[str]:
    """The Message-IDs once the event's delivery has finished: after that nothing can
    send it again (the killed instances are gone), so no quiet period is needed."""
    deadline = time.monotonic() + timeout
    while not (deliveries := cloud.event_deliveries()) or any(
            d["state"] == "PENDING" for d in deliveries):
        assert time.monotonic() < deadline, f"the delivery never finished: {deliveries}"
        time.sleep(0.2)
    return [str(m.message()["Message-ID"]) for m in smtp.messages]


def marker_state(cloud: Any, etag: str) -> str:
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    marker = storage.get_object(cloud.namespace, STATE_BUCKET, f"sent/{etag}")
    return str(json.loads(marker.data.content)["state"])


@pytest.mark.parametrize("accepted", [False, True], ids=["before-accept", "after-accept"])
def test_function_killed_mid_smtp(tmp_path: Path, smtp: SMTPServer, accepted: bool) -> None:
    held = HeldData(smtp, accept_first=accepted)
    state = tmp_path / "state"
    # Redeliveries at kill + 1, 4 and 10 s: the last past the dead claim's lease (at
    # most kill + 7 s); one more in case a loaded machine makes the lease end late.
    with LocalCloud(state, event_retry_delays=(1.0, 3.0, 6.0, 10.0)) as cloud:
        applied = deploy(cloud, smtp, CLAIM_LEASE_SLACK_S=str(LEASE_SLACK_S))
        short_timeout(cloud, applied.function_id)
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        etag = storage.put_object(cloud.namespace, BUCKET, "killed.csv.gz",
                                  gzip_report()).headers["etag"]
        try:
            assert held.in_data.wait(60), "the function never reached DATA"
            assert kill_instances(state) >= 1
            ids = mailed(smtp, cloud)
        finally:
            held.over.set()
        assert ids == [f"<usage-report.{etag}@fastfn.mailer>"] * (2 if accepted else 1)
        assert marker_state(cloud, etag) == "sent"
        assert [d["state"] for d in cloud.event_deliveries()] == ["DELIVERED"]


@pytest.mark.parametrize("accepted", [False, True], ids=["before-accept", "after-accept"])
def test_cloud_killed_mid_delivery(tmp_path: Path, smtp: SMTPServer, accepted: bool) -> None:
    held = HeldData(smtp, accept_first=accepted)
    cloud = CloudProcess(tmp_path / "state", tmp_path / "cloud.log").start()
    try:
        applied = deploy(cloud, smtp, CLAIM_LEASE_SLACK_S=str(LEASE_SLACK_S))
        short_timeout(cloud, applied.function_id)
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        etag = storage.put_object(cloud.namespace, BUCKET, "crash.csv.gz",
                                  gzip_report()).headers["etag"]
        try:
            assert held.in_data.wait(60), "the function never reached DATA"
            cloud.kill9()  # its function instances die with it
            cloud.start()
            ids = mailed(smtp, cloud)
        finally:
            held.over.set()
        assert ids == [f"<usage-report.{etag}@fastfn.mailer>"] * (2 if accepted else 1)
        assert marker_state(cloud, etag) == "sent"
        assert [d["state"] for d in cloud.event_deliveries()] == ["DELIVERED"]
    finally:
        cloud.stop()
