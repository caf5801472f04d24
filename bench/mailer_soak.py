"""Usage-report mailer soak (issue 16): 200 concurrent uploads -> 200 emails.

Run by hand (not a test):

    .venv/bin/python bench/mailer_soak.py [--uploads 200] [--size 100000] \
        [--instances 1,2,4] [--putters 16]

The set-up is bench/mailer_latency.py's (a local OCI cloud in this process, the mailer
deployed by its own setup, a real aiosmtpd server with STARTTLS + AUTH), once per number of
warm function instances the local platform allows (`max_instances`). Each round first warms
that many instances (concurrent uploads, not measured), then --putters threads put
--uploads new gzip CSV reports (about --size bytes) with the oci SDK as fast as they can.

Printed per round: uploads/s (acknowledged puts over the time the puts took), end-to-end
p50/p95 (put start -> the SMTP server's acceptance of that report's message, matched by its
Message-ID, which carries the object's ETag), emails/s (messages over the first put ->
last acceptance), emails received vs uploads (lost, duplicated), failed deliveries, and RSS
of this process (the cloud, its SMTP server and the clients: the cloud runs in-process)
and of the function instances, before and after the soak. The figures depend on the
machine's load: the ratio between rounds (1, 2, 4 instances) is what to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import oci

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.layout import StateLayout
from mailer_latency import mailer_on_local_cloud, percentile

from support.mailer import BUCKET, SMTPServer, gzip_report


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def instances_rss_mb(cloud: LocalCloud) -> tuple[int, float]:
    pids = []
    for pid_file in StateLayout(cloud.state_dir).instances.rglob("i*.pid"):
        try:
            pids.append(int(pid_file.read_text().split()[0]))
        except (OSError, ValueError):
            continue
    alive = [p for p in pids if rss_mb(p) > 0]
    return len(alive), sum(rss_mb(p) for p in alive)


def message_etag(smtp_message: object) -> str:
    message_id = str(smtp_message.message()["Message-ID"])  # type: ignore[attr-defined]
    return message_id.removeprefix("<usage-report.").split("@", 1)[0]


def soak(instances: int, uploads: int, size: int, putters: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mailer-soak-") as tmp, \
            mailer_on_local_cloud(Path(tmp), max_instances=instances) as (cloud, smtp):
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        report = gzip_report(size=size)

        def put(name: str) -> tuple[str, float]:
            started = time.perf_counter()
            etag = storage.put_object(cloud.namespace, BUCKET, name, report).headers["etag"]
            return str(etag), started

        with ThreadPoolExecutor(max(instances, 1)) as pool:  # warm every instance
            list(pool.map(put, [f"warm/{i}.csv.gz" for i in range(instances)]))
        smtp.wait_for(instances, timeout=120)
        warm_count = len(smtp.messages)
        rss_before = rss_mb()
        fn_before = instances_rss_mb(cloud)

        first = time.perf_counter()
        with ThreadPoolExecutor(putters) as pool:
            puts = list(pool.map(put, [f"soak/{i}.csv.gz" for i in range(uploads)]))
        puts_done = time.perf_counter()
        received = _wait_quiet(smtp, warm_count + uploads)
        soaked = received[warm_count:]
        started = dict(puts)
        latencies = [(m.at - started[message_etag(m)]) * 1000 for m in soaked
                     if message_etag(m) in started]
        etags = [message_etag(m) for m in soaked]
        failed = cloud.event_deliveries("FAILED")
        fn_after = instances_rss_mb(cloud)
        result = {
            "instances": instances, "uploads_per_s": uploads / (puts_done - first),
            "p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "p95_ms": percentile(latencies, 95) if latencies else float("nan"),
            "emails_per_s": len(soaked) / (max(m.at for m in soaked) - first) if soaked else 0,
            "emails": len(soaked), "lost": len(set(started) - set(etags)),
            "duplicates": len(etags) - len(set(etags)), "failed": len(failed),
            "rss_before_mb": rss_before, "rss_after_mb": rss_mb(),
            "fn_rss_before_mb": fn_before[1], "fn_rss_after_mb": fn_after[1],
            "fn_alive": fn_after[0],
        }
    return result


def _wait_quiet(smtp: SMTPServer, count: int, timeout: float = 300.0,
                quiet_s: float = 2.0) -> list:
    """The messages once `count` arrived and none more for quiet_s (duplicates show)."""
    with contextlib.suppress(AssertionError):  # fewer: reported as lost
        smtp.wait_for(count, timeout=timeout)
    seen = -1
    while seen != len(smtp.messages):
        seen = len(smtp.messages)
        time.sleep(quiet_s)
    return list(smtp.messages)


def main() -> int:
    parser = argparse.ArgumentParser(description="mailer soak: concurrent uploads -> emails")
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--size", type=int, default=100_000, help="report bytes (gzip)")
    parser.add_argument("--instances", default="1,2,4",
                        help="warm function instances allowed, one round each")
    parser.add_argument("--putters", type=int, default=16, help="concurrent put threads")
    args = parser.parse_args()
    rounds = [soak(int(n), args.uploads, args.size, args.putters)
              for n in args.instances.split(",")]
    print(f"{args.uploads} uploads of a {args.size // 1000} kB gzip report, "
          f"{args.putters} putters, {os.cpu_count()} cores (shared: figures vary with load)")
    print(f"{'inst':>4} {'up/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'mail/s':>6} "
          f"{'mails':>5} {'lost':>4} {'dup':>3} {'fail':>4} {'RSS MB':>11} {'fn RSS MB':>11}")
    base = rounds[0]["emails_per_s"] or 1.0
    for r in rounds:
        print(f"{r['instances']:>4} {r['uploads_per_s']:>6.1f} {r['p50_ms']:>7.0f} "
              f"{r['p95_ms']:>7.0f} {r['emails_per_s']:>6.1f} {r['emails']:>5} "
              f"{r['lost']:>4} {r['duplicates']:>3} {r['failed']:>4} "
              f"{r['rss_before_mb']:>5.0f}>{r['rss_after_mb']:<5.0f} "
              f"{r['fn_rss_before_mb']:>5.0f}>{r['fn_rss_after_mb']:<5.0f}")
    print("emails/s vs 1 instance: " + ", ".join(
        f"{r['instances']}: {r['emails_per_s'] / base:.2f}x" for r in rounds))
    return 0 if all(r["lost"] == 0 and r["duplicates"] == 0 for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
