"""A lost answer to the end of DATA (the server accepted the message, its 250 never
arrived): the claim is kept, not released, so the event's redeliveries inside the lease
send nothing; the one after the lease sends again (at least once, same Message-ID)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

from support.mailer import BUCKET, SMTPServer, deploy, gzip_report

pytestmark = pytest.mark.slow

STATE_BUCKET = f"{BUCKET}-mailer-state"
TIMEOUT_S = 6  # the function's: the lease is its remaining time + CLAIM_LEASE_SLACK_S
SLACK_S = 4


class SwallowedReply:
    """The first DATA is stored (accepted) and its answer withheld until `over`."""

    def __init__(self, smtp: SMTPServer) -> None:
        self.original = smtp.handler.handle_DATA
        self.accepted = threading.Event()
        self.over = threading.Event()
        smtp.handler.handle_DATA = self.handle_DATA

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = str(await self.original(server, session, envelope))
        if not self.accepted.is_set():
            self.accepted.set()
            while not self.over.is_set():
                await asyncio.sleep(0.05)
        return reply


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    with SMTPServer(tmp_path / "smtp") as server:
        yield server


def marker(cloud: Any, etag: str) -> dict[str, Any] | None:
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    try:
        response = storage.get_object(cloud.namespace, STATE_BUCKET, f"sent/{etag}")
    except oci.exceptions.ServiceError as exc:
        if exc.status == 404:
            return None
        raise
    return dict(json.loads(response.data.content))


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_lost_250_is_not_sent_again_within_the_lease(tmp_path: Path, smtp: SMTPServer) -> None:
    swallowed = SwallowedReply(smtp)
    # Two redeliveries well inside the lease, then one well after it.
    with LocalCloud(tmp_path / "state", event_retry_delays=(0.5, 1.0, 14.0)) as cloud:
        applied = deploy(cloud, smtp, SMTP_RETRY_BUDGET_S="2", SMTP_TIMEOUT_S="30",
                         CLAIM_LEASE_SLACK_S=str(SLACK_S))
        cloud.client(oci.functions.FunctionsManagementClient).update_function(
            applied.function_id,
            oci.functions.models.UpdateFunctionDetails(timeout_in_seconds=TIMEOUT_S))
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        etag = storage.put_object(cloud.namespace, BUCKET, "lost.csv.gz",
                                  gzip_report()).headers["etag"]
        try:
            assert swallowed.accepted.wait(60), "the function never finished DATA"
            # The SMTP deadline passes with no answer: the claim is kept as "unknown".
            kept = until(lambda: (m := marker(cloud, etag)) and m["state"] == "unknown" and m,
                         60, 'the marker to say "unknown"')
            lease_until = float(kept["lease_until"])
            # The two redeliveries inside the lease find it busy and send nothing (the
            # record's attempts count is saved as each attempt fails).
            until(lambda: cloud.event_deliveries()[0]["attempts"] >= 3, 60,
                  "the redeliveries inside the lease")
            assert cloud.event_deliveries()[0]["state"] == "PENDING"
            assert time.time() < lease_until, "the redeliveries came after the lease"
            assert len(smtp.messages) == 1
            assert marker(cloud, etag)["state"] == "unknown"  # type: ignore[index]
            # After the lease, a redelivery takes the claim over and sends again.
            until(lambda: cloud.event_deliveries()[0]["state"] != "PENDING", 90,
                  "the delivery to finish")
        finally:
            swallowed.over.set()
        delivery = cloud.event_deliveries()[0]
        assert delivery["state"] == "DELIVERED", delivery
        assert delivery["attempts"] == 4
        ids = [str(m.message()["Message-ID"]) for m in smtp.messages]
        assert ids == [f"<usage-report.{etag}@fastfn.mailer>"] * 2
        assert marker(cloud, etag)["state"] == "sent"  # type: ignore[index]
