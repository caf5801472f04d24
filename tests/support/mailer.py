"""The usage-report mailer as the tests and the bench use it: the example's local SMTP
server (STARTTLS + AUTH), gzip CSV reports, the Object Storage event for an object
(PLATFORM_FACTS §3), and the mailer deployed on a LocalCloud by the example's own setup
(setup_local.apply).
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "usage-report-mailer"
USER, PASSWORD = "ocid1.user.oc1..smtp-user@ocid1.tenancy.oc1..x", "s3cret-smtp-pass"
BUCKET = "monthly-usage-reports"


def example_module(stem: str) -> ModuleType:
    """A module of the example, loaded from its file (the folder name has a dash)."""
    name = f"usage_report_mailer_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_smtp = example_module("local_smtp")
free_port = _smtp.free_port
Received = _smtp.Received


class SMTPServer(_smtp.SMTPServer):  # type: ignore[misc, name-defined]
    def __init__(self, directory: Path, user: str = USER, password: str = PASSWORD,
                 plaintext: bool = False) -> None:
        super().__init__(directory, user, password, plaintext=plaintext)


def report_csv(rows: int = 50) -> bytes:
    """A cost report: OCI's column names, a random resource OCID per row (which is what
    keeps real reports from compressing to nothing)."""
    services = ["COMPUTE", "OBJECT_STORAGE", "DATABASE", "NETWORK", "FUNCTIONS"]
    lines = ["lineItem/intervalUsageStart,product/service,product/resourceId,cost/myCost,"
             "cost/currencyCode"]
    for i in range(rows):
        lines.append(f"2026-11-{1 + i % 28:02d}T00:00Z,{services[i % 5]},"
                     f"ocid1.instance.oc1.eu-frankfurt-1.{uuid.uuid4().hex}{uuid.uuid4().hex},"
                     f"{(i % 7) + 0.25},USD")
    return ("\n".join(lines) + "\n").encode()


def gzip_report(rows: int = 50, size: int | None = None) -> bytes:
    """A gzip CSV report of `rows` rows, or of about `size` bytes compressed."""
    if size is not None:
        per_row = len(gzip.compress(report_csv(1000), mtime=0)) / 1000
        rows = max(1, int(size / per_row))
    return gzip.compress(report_csv(rows), mtime=0)


def object_event(namespace: str, bucket: str, name: str, etag: str,
                 event_type: str = "com.oraclecloud.objectstorage.createobject",
                 event_id: str | None = None, compartment_id: str = "ocid1.compartment.oc1..x"
                 ) -> dict[str, Any]:
    """The Object Storage event as OCI sends it (PLATFORM_FACTS §3)."""
    return {
        "cloudEventsVersion": "0.1", "eventID": event_id or str(uuid.uuid4()),
        "eventType": event_type, "source": "ObjectStorage", "eventTypeVersion": "2.0",
        "eventTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "contentType": "application/json", "extensions": {"compartmentId": compartment_id},
        "data": {
            "compartmentId": compartment_id, "compartmentName": "local", "resourceName": name,
            "resourceId": f"/n/{namespace}/b/{bucket}/o/{name}", "availabilityDomain": "all",
            "additionalDetails": {"eTag": etag, "namespace": namespace, "bucketName": bucket,
                                  "bucketId": "ocid1.bucket.oc1..x",
                                  "archivalState": "Available"},
        },
    }


def deploy(cloud: Any, smtp: Any, password: str = PASSWORD,
           **config: str) -> Any:
    """setup.yaml applied to `cloud`, the function pointed at `smtp`."""
    setup = example_module("setup_local")
    overrides = {"EMAIL_FROM": "reports@example.com",
                 "EMAIL_TO": "finance@example.com, ops@example.com",
                 "SMTP_RETRY_BUDGET_S": "1", **(smtp.config() if smtp else {}), **config}
    return setup.apply(setup.Target.from_cloud(cloud), overrides=overrides,
                       secret_values={"SMTP_USERNAME": USER, "SMTP_PASSWORD": password})


def assert_report_mail(received: Any, name: str, etag: str, report: bytes, rows: int) -> None:
    """The summary mail seed 003 expects for `report` (made by `gzip_report(rows)`), as the
    local SMTP server received it: STARTTLS then AUTH, the recipients, the subject, the
    Message-ID from the ETag, the report attached byte for byte, and its summary."""
    base = name.rsplit("/", 1)[-1]
    assert received.tls and received.authenticated
    assert received.mail_from == "reports@example.com"
    assert received.rcpt_tos == ["finance@example.com", "ops@example.com"]
    message = received.message()
    assert message["Subject"] == f"OCI usage report: {base}"
    assert message["Message-ID"] == f"<usage-report.{etag}@fastfn.mailer>"
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "application/gzip"
    assert attachments[0].get_filename() == base
    assert attachments[0].get_content() == report  # byte-identical
    body = message.get_body(("plain",)).get_content()
    assert f"Rows: {rows}" in body
    # Rows of (i % 7) + 0.25 (report_csv): the total the summary must find.
    assert f"Total cost: {sum((i % 7) + 0.25 for i in range(rows)):.2f} USD" in body
    assert "Top services by cost:" in body and "COMPUTE" in body
