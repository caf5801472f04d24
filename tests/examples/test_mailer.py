"""The usage-report mailer (examples/usage-report-mailer, seed 003) end to end: the local
OCI cloud (Object Storage, Vault, Functions, Events) driven by the real oci SDK, the
function in its own process under the Fn contract, and a real SMTP server with STARTTLS
and AUTH."""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

from support.mailer import (
    BUCKET,
    PASSWORD,
    USER,
    SMTPServer,
    assert_report_mail,
    deploy,
    free_port,
    gzip_report,
    object_event,
    report_csv,
)
from support.waiting import wait_for

FN_LOGGER = "fastfn.fn"
STATE_BUCKET = f"{BUCKET}-mailer-state"


class Lines(logging.Handler):
    """The function's stderr lines, as the local platform relays them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def json(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines:
            with contextlib.suppress(ValueError):  # not every line is JSON
                out.append(json.loads(line))
        return out

    def outcomes(self) -> list[dict[str, Any]]:
        return [e for e in self.json() if e.get("logger") == "mailer" and "outcome" in e]


@pytest.fixture
def fn_logs() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger(FN_LOGGER)
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    with LocalCloud(tmp_path / "state", event_retry_delays=(0.2, 0.4)) as running:
        yield running


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    with SMTPServer(tmp_path / "smtp") as server:
        yield server


def storage(cloud: LocalCloud) -> oci.object_storage.ObjectStorageClient:
    return cloud.client(oci.object_storage.ObjectStorageClient)


def upload(cloud: LocalCloud, name: str, data: bytes) -> str:
    return str(storage(cloud).put_object(cloud.namespace, BUCKET, name, data).headers["etag"])


def invoke(cloud: LocalCloud, fn_id: str, body: dict[str, Any] | bytes) -> tuple[int, Any]:
    """A cloudevent invoke as OCI Events makes it; (app status, JSON body)."""
    client = oci.functions.FunctionsInvokeClient(cloud.config, service_endpoint=cloud.endpoint)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.invoke_function(fn_id, invoke_function_body=raw, fn_intent="cloudevent",
                                      retry_strategy=oci.retry.NoneRetryStrategy())
    return int(response.headers["Fn-Http-Status"]), response.data.json()



def finished(cloud: LocalCloud, count: int = 1) -> list[dict[str, Any]]:
    return wait_for(lambda: (d := [x for x in cloud.event_deliveries()
                                   if x["state"] != "PENDING"]) and len(d) >= count and d)


def markers(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    client = storage(cloud)
    names = [o.name for o in client.list_objects(cloud.namespace, STATE_BUCKET).data.objects]
    return {n: json.loads(client.get_object(cloud.namespace, STATE_BUCKET, n).data.content)
            for n in names}


def no_secret_in(logs: Lines) -> None:
    text = "\n".join(logs.lines)
    assert PASSWORD not in text
    assert USER not in text


def test_upload_mails_the_report_with_the_attachment_byte_identical(
        cloud: LocalCloud, smtp: SMTPServer, fn_logs: Lines) -> None:
    applied = deploy(cloud, smtp)
    report = gzip_report(rows=200)
    name = "reports/WeeklyCostsScheduledReport_20261120_0.csv.gz"
    etag = upload(cloud, name, report)

    assert_report_mail(smtp.wait_for(1)[0], name, etag, report, rows=200)

    delivered = finished(cloud)
    assert [(d["state"], d["attempts"]) for d in delivered] == [("DELIVERED", 1)]
    assert markers(cloud)[f"sent/{etag}"]["state"] == "sent"
    outcome = wait_for(fn_logs.outcomes)[0]
    assert (outcome["outcome"], outcome["object_name"], outcome["etag"]) == (
        "success", name, etag)
    assert outcome["call_id"]
    no_secret_in(fn_logs)
    record = json.loads((cloud.state_dir / "usage-report-mailer.json").read_text())
    assert record["function_id"] == applied.function_id
    assert any(applied.secrets["SMTP_PASSWORD_SECRET_OCID"] in s
               for s in record["policy"]["statements"])

    # An overwrite is an updateobject with a new ETag: a new version, mailed again.
    new_etag = upload(cloud, name, gzip_report(rows=3))
    assert smtp.wait_for(2)[1].message()["Message-ID"] == f"<usage-report.{new_etag}@fastfn.mailer>"


def test_the_same_event_again_sends_no_second_email(cloud: LocalCloud, smtp: SMTPServer,
                                                     fn_logs: Lines) -> None:
    applied = deploy(cloud, smtp)
    name = "usage.csv.gz"
    etag = upload(cloud, name, gzip_report())
    smtp.wait_for(1)
    finished(cloud)
    event = object_event(cloud.namespace, BUCKET, name, etag)
    # Redelivered (new eventID, same ETag) several times at once: both instances answer.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: invoke(cloud, applied.function_id, event), range(4)))
    assert all(status == 200 for status, _ in answers)
    assert {body["status"] for _, body in answers} == {"duplicate"}
    assert set(answers[0][1]) == {"status", "message", "object_name", "recipient", "timestamp"}
    time.sleep(0.5)
    assert len(smtp.messages) == 1


def test_a_mailed_report_stays_a_duplicate_whatever_else_fails(
        cloud: LocalCloud, tmp_path: Path) -> None:
    """The claim, the download and the SMTP login run at once; the claim's answer wins:
    the object deleted since, or the SMTP server gone, do not turn a duplicate into an
    error or a redelivery."""
    name = "usage.csv.gz"
    with SMTPServer(tmp_path / "smtp-gone") as server:
        applied = deploy(cloud, server)
        etag = upload(cloud, name, gzip_report())
        server.wait_for(1)
        finished(cloud)
    storage(cloud).delete_object(cloud.namespace, BUCKET, name)
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, name, etag))
    assert (status, body["status"]) == (200, "duplicate"), body
    assert len(server.messages) == 1


def test_concurrent_first_deliveries_send_one_email(cloud: LocalCloud, smtp: SMTPServer) -> None:
    # The same new report delivered to two instances at the same moment (no rule fired:
    # the object is put in a bucket without events first, then the event is replayed).
    applied = deploy(cloud, smtp)
    client = storage(cloud)
    client.update_bucket(cloud.namespace, BUCKET, oci.object_storage.models.UpdateBucketDetails(
        object_events_enabled=False))
    etag = upload(cloud, "race.csv.gz", gzip_report())
    event = object_event(cloud.namespace, BUCKET, "race.csv.gz", etag, event_id="same-event")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _try_invoke(cloud, applied.function_id, event),
                                range(2)))
    # One sends; the other finds it sent (duplicate) or still being sent (outer 502, so
    # OCI Events would redeliver it later and find it sent).
    assert sorted(a for a in answers) in (["502", "success"], ["duplicate", "success"])
    time.sleep(0.5)
    assert len(smtp.messages) == 1
    assert _try_invoke(cloud, applied.function_id, event) == "duplicate"


def _try_invoke(cloud: LocalCloud, fn_id: str, event: dict[str, Any]) -> str:
    try:
        return str(invoke(cloud, fn_id, event)[1]["status"])
    except oci.exceptions.ServiceError as exc:
        return str(exc.status)


def test_smtp_down_is_retried_then_redelivered_then_failed(cloud: LocalCloud,
                                                          fn_logs: Lines) -> None:
    deploy(cloud, None, SMTP_SERVER="127.0.0.1", SMTP_PORT=str(free_port()))
    etag = upload(cloud, "down.csv.gz", gzip_report())
    failed = finished(cloud)
    assert [(d["state"], d["attempts"]) for d in failed] == [("FAILED", 3)]
    assert failed[0]["lastError"].startswith("502")
    outcomes = wait_for(lambda: len(fn_logs.outcomes()) >= 3 and fn_logs.outcomes())
    assert {(o["outcome"], o["category"]) for o in outcomes} == {("redeliver", "SMTPError")}
    assert all(o["retryable"] for o in outcomes)
    retries = [e for e in fn_logs.json() if e.get("msg") == "SMTP attempt failed; retrying"]
    assert retries, "no retry within the call"
    assert f"sent/{etag}" not in markers(cloud)  # released: a later delivery starts afresh


def test_transient_smtp_failure_is_retried_within_the_call(cloud: LocalCloud,
                                                          smtp: SMTPServer) -> None:
    smtp.handler.transient_failures = 2  # 451 twice, then accepted
    deploy(cloud, smtp, SMTP_RETRY_BUDGET_S="10")
    upload(cloud, "flaky.csv.gz", gzip_report())
    smtp.wait_for(1)
    assert [(d["state"], d["attempts"]) for d in finished(cloud)] == [("DELIVERED", 1)]
    time.sleep(0.3)
    assert len(smtp.messages) == 1


def test_wrong_smtp_password_is_not_retried(cloud: LocalCloud, smtp: SMTPServer,
                                            fn_logs: Lines) -> None:
    applied = deploy(cloud, smtp, password="not-the-password")
    etag = upload(cloud, "auth.csv.gz", gzip_report())
    assert [(d["state"], d["attempts"]) for d in finished(cloud)] == [("DELIVERED", 1)]
    assert len(smtp.auth_failed_sessions) == 1 and smtp.messages == []  # one try
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, "auth.csv.gz", etag))
    assert status == 401
    assert (body["status"], body["category"], body["object_name"]) == (
        "error", "SMTPError", "auth.csv.gz")
    assert set(body) == {"status", "category", "message", "object_name", "timestamp"}
    assert "not-the-password" not in json.dumps(body)
    assert "not-the-password" not in "\n".join(fn_logs.lines)
    assert fn_logs.outcomes()[0]["category"] == "SMTPError"


def test_missing_secret_is_a_vault_error(cloud: LocalCloud, smtp: SMTPServer,
                                         fn_logs: Lines) -> None:
    applied = deploy(cloud, smtp, SMTP_PASSWORD_SECRET_OCID=(
        "vault:ocid1.vaultsecret.oc1.eu-frankfurt-1.doesnotexist"))
    etag = upload(cloud, "vault.csv.gz", gzip_report())
    assert [(d["state"], d["attempts"]) for d in finished(cloud)] == [("DELIVERED", 1)]
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, "vault.csv.gz", etag))
    assert (status, body["category"]) == (500, "VaultError")
    assert "SMTP_PASSWORD_SECRET_OCID" in body["message"]
    assert smtp.messages == []
    assert fn_logs.outcomes()[0]["category"] == "VaultError"


def test_missing_object_is_a_storage_error(cloud: LocalCloud, smtp: SMTPServer) -> None:
    applied = deploy(cloud, smtp)
    status, body = invoke(cloud, applied.function_id, object_event(
        cloud.namespace, BUCKET, "gone.csv.gz", str(uuid.uuid4())))
    assert (status, body["status"], body["category"]) == (404, "error", "StorageError")
    assert body["object_name"] == "gone.csv.gz"
    assert markers(cloud) == {}  # the claim was rolled back
    assert smtp.messages == []


@pytest.mark.parametrize(("name", "data", "config", "status", "words"), [
    ("plain.csv.gz", report_csv(), {}, 422, "not a gzip file"),
    ("big.csv.gz", gzip_report(size=20_000), {"MAX_REPORT_BYTES": "8000"}, 413,
     "limit"),
    ("headless.csv.gz", gzip.compress(b"1,2,3\n4,5,6\n"), {}, 422,
     "not a CSV file with a header"),
])
def test_invalid_files_are_storage_errors_not_retried(
        cloud: LocalCloud, smtp: SMTPServer, fn_logs: Lines, name: str, data: bytes,
        config: dict[str, str], status: int, words: str) -> None:
    applied = deploy(cloud, smtp, **config)
    etag = upload(cloud, name, data)
    assert [(d["state"], d["attempts"]) for d in finished(cloud)] == [("DELIVERED", 1)]
    got, body = invoke(cloud, applied.function_id,
                       object_event(cloud.namespace, BUCKET, name, etag))
    assert (got, body["category"]) == (status, "StorageError")
    assert words in body["message"]
    assert smtp.messages == []
    assert fn_logs.outcomes()[0]["category"] == "StorageError"


@pytest.mark.parametrize("body", [
    object_event("ns", BUCKET, "x.csv.gz", "e", "com.oraclecloud.objectstorage.deleteobject"),
    {"eventType": "com.oraclecloud.objectstorage.createobject",
     "data": {"bucketName": BUCKET, "resourceName": "x.csv.gz"}},  # seed 003's sample shape
    b"not json",
])
def test_wrong_events_are_parse_errors(cloud: LocalCloud, smtp: SMTPServer,
                                       body: dict[str, Any] | bytes) -> None:
    applied = deploy(cloud, smtp)
    status, answer = invoke(cloud, applied.function_id, body)
    assert (status, answer["status"], answer["category"]) == (400, "error", "ParseError")
    assert smtp.messages == []


def test_missing_configuration_is_a_config_error(cloud: LocalCloud, smtp: SMTPServer) -> None:
    applied = deploy(cloud, smtp, EMAIL_TO="")
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, "x.csv.gz", "etag"))
    assert (status, body["category"]) == (500, "ConfigError")
    assert "EMAIL_TO" in body["message"]


def test_a_claim_left_by_a_dead_instance_is_taken_over_after_its_lease(
        cloud: LocalCloud, smtp: SMTPServer) -> None:
    # What a function that died between claiming and sending leaves behind.
    applied = deploy(cloud, smtp)
    client = storage(cloud)
    client.update_bucket(cloud.namespace, BUCKET, oci.object_storage.models.UpdateBucketDetails(
        object_events_enabled=False))
    live_etag = upload(cloud, "live.csv.gz", gzip_report())
    dead_etag = upload(cloud, "dead.csv.gz", gzip_report())
    for etag, lease_until in ((live_etag, time.time() + 600), (dead_etag, time.time() - 1)):
        client.put_object(cloud.namespace, STATE_BUCKET, f"sent/{etag}", json.dumps({
            "state": "sending", "call_id": "dead-call", "lease_until": lease_until}).encode())

    # Live lease: not sent now, and an outer 502 so that OCI Events redelivers later.
    with pytest.raises(oci.exceptions.ServiceError) as info:
        invoke(cloud, applied.function_id,
               object_event(cloud.namespace, BUCKET, "live.csv.gz", live_etag))
    assert info.value.status == 502
    # Expired lease: taken over and mailed, once.
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, "dead.csv.gz", dead_etag))
    assert (status, body["status"]) == (200, "success")
    assert [m.message()["Subject"] for m in smtp.wait_for(1)] == [
        "OCI usage report: dead.csv.gz"]
    assert markers(cloud)[f"sent/{dead_etag}"]["state"] == "sent"
    assert markers(cloud)[f"sent/{live_etag}"]["call_id"] == "dead-call"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_credentials_never_go_over_plaintext(cloud: LocalCloud, tmp_path: Path) -> None:
    # A server that offers AUTH without STARTTLS: the mailer refuses before AUTH.
    with SMTPServer(tmp_path / "plain", plaintext=True) as plain:
        applied = deploy(cloud, plain)
        etag = upload(cloud, "plain.csv.gz", gzip_report())
        assert [(d["state"], d["attempts"]) for d in finished(cloud)] == [("DELIVERED", 1)]
        status, body = invoke(cloud, applied.function_id,
                              object_event(cloud.namespace, BUCKET, "plain.csv.gz", etag))
        assert body["category"] == "SMTPError" and "STARTTLS" in body["message"]
        assert status == 502  # an app status (outer 200): permanent, not redelivered
        assert plain.auth_attempts == 0 and plain.messages == []


def test_an_unverifiable_smtp_certificate_is_refused(cloud: LocalCloud,
                                                    smtp: SMTPServer) -> None:
    applied = deploy(cloud, smtp, SMTP_CA_FILE="")  # the system CAs do not know ours
    etag = upload(cloud, "tls.csv.gz", gzip_report())
    assert [(d["state"], d["attempts"]) for d in finished(cloud)] == [("DELIVERED", 1)]
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, "tls.csv.gz", etag))
    assert (status, body["category"]) == (502, "SMTPError")
    assert "certificate" in body["message"]
    assert smtp.auth_attempts == 0 and smtp.messages == []
