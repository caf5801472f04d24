"""Function logs kept per invocation (`fastfn logs`) and event deliveries that record the
function's answer (`fastfn cloud events`)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from fastfn.cli import app as cli_app
from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.logs import FunctionLogs

from support.oci import APPS, IMAGE
from support.oci_events import bucket, deploy, rule_on_uploads
from support.waiting import wait_for


def test_log_store_reads_filters_and_follows(tmp_path: Path) -> None:
    logs = FunctionLogs(tmp_path / "logs")
    logs.record("fn-a", "app", json.dumps({"level": "warning", "call_id": "c1",
                                           "msg": "careful"}))
    logs.record("fn-b", "app", "plain text")
    assert [e["message"] for e in logs.read("fn-a")] == ["careful"]
    assert [e["function"] for e in logs.read("app")] == ["fn-a", "fn-b"]
    assert logs.read("fn-a")[0]["callId"] == "c1"
    assert logs.read("fn-b")[0]["level"] == "info"
    assert logs.read("app", call_id="c1")[0]["function"] == "fn-a"
    assert logs.read("app", since=datetime.now(UTC) + timedelta(minutes=1)) == []

    stop = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        for entry in logs.follow("fn-a", poll_s=0.05, stop=stop):
            seen.append(entry["message"])
            if len(seen) == 2:
                stop.set()

    reader = threading.Thread(target=follow)
    reader.start()
    logs.record("fn-b", "app", "not this one")
    logs.record("fn-a", "app", "later")
    reader.join(timeout=20)
    assert seen == ["careful", "later"]


def test_app_error_is_visible_in_logs_and_events(cloud: LocalCloud, state_dir: Path,
                                                 tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = deploy(cloud, markers)
    rule_on_uploads(cloud, "reports", fn.id)
    storage = bucket(cloud, "reports")
    storage.put_object(cloud.namespace, "reports", "bad.csv.gz", b"nope")

    delivered = wait_for(lambda: cloud.event_deliveries("DELIVERED"), timeout=60)[0]
    assert (delivered["resourceName"], delivered["outerStatus"], delivered["appStatus"],
            delivered["errorCategory"]) == ("bad.csv.gz", 200, 400, "ParseError")
    assert "bad.csv.gz is not a report" in delivered["lastError"]

    runner = CliRunner()
    shown = runner.invoke(cli_app, ["cloud", "events", "--state-dir", str(state_dir)])
    assert shown.exit_code == 0, shown.output
    assert "bad.csv.gz" in shown.output and "ParseError" in shown.output
    assert max(len(line) for line in shown.output.splitlines()) <= 80

    def lines() -> list[dict]:  # type: ignore[type-arg]
        out = runner.invoke(cli_app, ["logs", "on-upload", "--cloud-state", str(state_dir),
                                      "--json", "--since", "10m"]).output
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    entries = wait_for(lambda: [e for e in lines() if e["level"] == "warning"
                                and e["message"] == "not a report: bad.csv.gz"], timeout=30)
    assert entries[0]["callId"]
    # The delivery names the call whose lines these are.
    assert delivered["callId"] == entries[0]["callId"]
    assert delivered["callId"][-8:] in shown.output
    assert entries[0]["application"] == "events"
    everything = lines()
    assert any(e["line"] == "looking at bad.csv.gz" for e in everything)  # stdout too
    by_call = runner.invoke(cli_app, ["logs", "events", "--cloud-state", str(state_dir),
                                      "--call-id", entries[0]["callId"]])
    assert "not a report: bad.csv.gz" in by_call.output
    bad = runner.invoke(cli_app, ["logs", "on-upload", "--cloud-state", str(state_dir),
                                  "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since" in bad.output
