"""The mailer on the local cloud in one command: upload a usage report, see the email.

    .venv/bin/python examples/usage-report-mailer/demo.py

Starts a local OCI cloud and a local SMTP server (STARTTLS + AUTH) in this process,
applies setup.yaml (buckets, Vault secrets, function, event rule, policy text), puts a
gzip CSV report with the oci SDK, and prints the email the SMTP server accepted; then
delivers the same event again to show that no second email goes out.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import oci

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import setup_local  # noqa: E402
from local_smtp import SMTPServer  # noqa: E402

from fastfn.localcloud.oci import LocalCloud  # noqa: E402

USER, PASSWORD = "demo-smtp-user", f"demo-{uuid.uuid4().hex}"


def sample_report() -> bytes:
    rows = ["lineItem/intervalUsageStart,product/service,cost/myCost,cost/currencyCode"]
    for day in range(1, 8):
        for service, cost in (("COMPUTE", 12.5), ("OBJECT_STORAGE", 1.25),
                              ("DATABASE", 30.0), ("FUNCTIONS", 0.1)):
            rows.append(f"2026-11-{day:02d}T00:00Z,{service},{cost * day:.2f},USD")
    return gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mailer-demo-") as tmp:
        work = Path(tmp)
        with SMTPServer(work / "smtp", USER, PASSWORD) as smtp, \
                LocalCloud(work / "state") as cloud:
            print(f"local cloud {cloud.endpoint}, SMTP 127.0.0.1:{smtp.port} (STARTTLS+AUTH)")
            target = setup_local.Target.from_cloud(cloud)
            applied = setup_local.apply(target, overrides={
                "EMAIL_FROM": "reports@example.com", "EMAIL_TO": "finance@example.com",
                **smtp.config()}, secret_values={"SMTP_USERNAME": USER,
                                                 "SMTP_PASSWORD": PASSWORD})
            print(f"function {applied.function_id}\nrule     {applied.rule_id}")
            print("policy statements (recorded; the local cloud does not enforce IAM):")
            for statement in applied.policy["statements"]:
                print(f"  {statement}")

            report = sample_report()
            name = "WeeklyCostsScheduledReport_20261120_0.csv.gz"
            storage = cloud.client(oci.object_storage.ObjectStorageClient)
            started = time.perf_counter()
            etag = storage.put_object(cloud.namespace, "monthly-usage-reports", name,
                                      report).headers["etag"]
            received = smtp.wait_for(1)[0]
            message = received.message()
            attachment = next(message.iter_attachments())
            print(f"\nupload -> email accepted in {(received.at - started) * 1000:.0f} ms "
                  f"(TLS {received.tls}, authenticated {received.authenticated})")
            print(f"From: {message['From']}\nTo: {message['To']}\n"
                  f"Subject: {message['Subject']}\n")
            print(message.get_body(("plain",)).get_content())
            same = hashlib.sha256(attachment.get_content()).hexdigest() == \
                hashlib.sha256(report).hexdigest()
            print(f"attachment {attachment.get_filename()} ({attachment.get_content_type()}, "
                  f"{len(report)} bytes, identical to the object: {same})")

            # OCI Events may deliver an event again: the function answers "duplicate".
            event = {"cloudEventsVersion": "0.1", "eventID": str(uuid.uuid4()),
                     "eventType": "com.oraclecloud.objectstorage.createobject",
                     "source": "ObjectStorage", "eventTypeVersion": "2.0",
                     "eventTime": "2026-11-20T09:00:00.000Z", "contentType": "application/json",
                     "data": {"resourceName": name, "additionalDetails": {
                         "eTag": etag, "namespace": cloud.namespace,
                         "bucketName": "monthly-usage-reports"}}}
            invoke = oci.functions.FunctionsInvokeClient(cloud.config,
                                                         service_endpoint=cloud.endpoint)
            answer = invoke.invoke_function(applied.function_id, fn_intent="cloudevent",
                                            invoke_function_body=json.dumps(event))
            print(f"\nsame event again -> {answer.data.json()['status']}; emails received: "
                  f"{len(smtp.messages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
