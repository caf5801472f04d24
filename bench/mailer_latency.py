"""Usage-report mailer (seed 003): object put -> message accepted by the SMTP server.

Run by hand (not a test):

    .venv/bin/python bench/mailer_latency.py [--uploads 50] [--size 1000000]

A local OCI cloud in this process, the mailer deployed by its own setup
(examples/usage-report-mailer/setup_local.py), a real aiosmtpd server with STARTTLS and
AUTH (tests/support/mailer.py). Each upload is a new gzip CSV report of about
--size bytes put with the oci SDK; the clock runs from just before put_object to the
SMTP server's acceptance of the message (end of DATA). The path: put -> Events rule ->
invoke of the warm function -> (claim marker | get_object -> gzip/CSV checks -> summary
and message | connect + STARTTLS + AUTH, all at once) -> MAIL/RCPT/DATA. Uploads are
sequential; two warm-ups (the first is a cold start) are reported apart. Target: p50 <= 100 ms.

Anchor, alternating with the uploads: the same report read back with the SDK's
get_object and sent from this process with smtplib to the same server (STARTTLS + AUTH +
DATA of a message of the same size): the work any mailer has to do, without the event,
the function or its checks. fastfn's p50 is printed over the anchor's.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import smtplib
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import oci

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fastfn.localcloud.oci import LocalCloud  # noqa: E402

from support.mailer import (  # noqa: E402
    BUCKET,
    PASSWORD,
    USER,
    SMTPServer,
    deploy,
    gzip_report,
)

WARMUP = 2


class Outcomes(logging.Handler):
    """The function's outcome lines (relayed by the local platform): per-phase times."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.phases: list[dict[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if '"phases_ms"' in line:
            self.phases.append(json.loads(line)["phases_ms"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@contextlib.contextmanager
def mailer_on_local_cloud(work: Path, max_instances: int = 2
                          ) -> Iterator[tuple[LocalCloud, SMTPServer]]:
    """The SMTP server and a local cloud with the mailer deployed (the benches' set-up)."""
    with SMTPServer(work / "smtp") as smtp, LocalCloud(work / "state",
                                                       max_instances=max_instances) as cloud:
        deploy(cloud, smtp, SMTP_RETRY_BUDGET_S="5")
        yield cloud, smtp


def direct_send(storage: object, namespace: str, name: str, smtp: SMTPServer) -> None:
    """The anchor: read the report back and send it, no platform in between."""
    data = storage.get_object(namespace, BUCKET, name).data.content  # type: ignore[attr-defined]
    message = (b"From: bench@example.com\r\nTo: ops@example.com\r\nSubject: report\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: application/gzip\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n"
               + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    context = ssl.create_default_context(cafile=str(smtp.cert))
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=60) as client:
        client.starttls(context=context)
        client.login(USER, PASSWORD)
        client.sendmail("bench@example.com", ["ops@example.com"], message)


def main() -> int:
    parser = argparse.ArgumentParser(description="mailer put -> SMTP latency")
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--size", type=int, default=1_000_000, help="report bytes (gzip)")
    args = parser.parse_args()
    outcomes = Outcomes()
    relay = logging.getLogger("fastfn.fn")
    relay.setLevel(logging.INFO)
    relay.addHandler(outcomes)
    with tempfile.TemporaryDirectory(prefix="mailer-bench-") as tmp:
        work = Path(tmp)
        with mailer_on_local_cloud(work) as (cloud, smtp):
            storage = cloud.client(oci.object_storage.ObjectStorageClient)
            report = gzip_report(size=args.size)
            latencies: list[float] = []
            anchor: list[float] = []
            warm: list[float] = []
            seen = 0  # messages the server has accepted so far
            for i in range(WARMUP + args.uploads):
                name = f"bench/report-{i}.csv.gz"
                started = time.perf_counter()
                storage.put_object(cloud.namespace, BUCKET, name, report)
                put_done = time.perf_counter()
                seen += 1
                received = smtp.wait_for(seen, timeout=60)[seen - 1]
                took = (received.at - started) * 1000
                (warm if i < WARMUP else latencies).append(took)
                if i >= WARMUP and i == WARMUP:
                    print(f"first measured: put {1000 * (put_done - started):.1f} ms, "
                          f"total {took:.1f} ms")
                if i >= WARMUP:
                    started = time.perf_counter()
                    direct_send(storage, cloud.namespace, name, smtp)
                    seen += 1
                    anchor.append((smtp.wait_for(seen, timeout=60)[seen - 1].at - started)
                                  * 1000)
            failed = cloud.event_deliveries("FAILED")
    print(f"report: {len(report)} bytes gzip; {args.uploads} sequential uploads "
          f"(+{WARMUP} warm-up: {', '.join(f'{w:.0f}' for w in warm)} ms)")
    print(f"put -> SMTP accepted: p50 {statistics.median(latencies):.1f} ms, "
          f"p90 {percentile(latencies, 90):.1f} ms, "
          f"p95 {percentile(latencies, 95):.1f} ms, min {min(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms")
    print(f"anchor (get_object + smtplib send, same server, alternating): p50 "
          f"{statistics.median(anchor):.1f} ms, p90 {percentile(anchor, 90):.1f} ms, "
          f"min {min(anchor):.1f} ms")
    ratio = statistics.median(latencies) / statistics.median(anchor)
    print(f"fastfn p50 / anchor p50 = {ratio:.2f}")
    measured = outcomes.phases[WARMUP:]
    if measured:
        # claim and smtp_open run alongside download and compose: claim is the wait left
        # for it after compose, smtp_open the session's own time in its thread.
        print("in the function, medians (ms): " + ", ".join(
            f"{phase} {statistics.median(p.get(phase, 0.0) for p in measured):.1f}"
            for phase in measured[0]))
    print(f"target p50 <= 100 ms: {'met' if statistics.median(latencies) <= 100 else 'NOT met'}"
          f"; failed deliveries: {len(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
