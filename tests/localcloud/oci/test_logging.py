"""Log groups, a Functions invoke log and Logging Search over function output, with the
real oci CLI (and the SDK's LogSearchClient)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.logging.query import parse, value_of

from support.oci import APPS, IMAGE
from support.oci_cli import cli, run
from support.oci_events import bucket, deploy, rule_on_uploads
from support.waiting import wait_for

pytestmark = pytest.mark.slow


def _window() -> tuple[str, str]:
    start = datetime.now(UTC) - timedelta(minutes=10)
    end = datetime.now(UTC) + timedelta(minutes=10)
    return (start.isoformat(timespec="seconds").replace("+00:00", "Z"),
            end.isoformat(timespec="seconds").replace("+00:00", "Z"))


def search(cloud: LocalCloud, query: str, check: bool = True) -> Any:
    start, end = _window()
    args = ("logging-search", "search-logs", "--search-query", query,
            "--time-start", start, "--time-end", end)
    if not check:
        return cli(cloud, *args, check=False)
    return run(cloud, *args)["data"]


def _invoke_log(cloud: LocalCloud, app_id: str) -> tuple[str, str]:
    run(cloud, "logging", "log-group", "create", "--compartment-id", cloud.compartment_id,
        "--display-name", "functions", "--wait-for-state", "SUCCEEDED")
    groups = run(cloud, "logging", "log-group", "list", "--compartment-id",
                 cloud.compartment_id)["data"]
    assert [(g["display-name"], g["lifecycle-state"]) for g in groups] == \
        [("functions", "ACTIVE")]
    group = groups[0]["id"]
    configuration = {"compartmentId": cloud.compartment_id, "source": {
        "sourceType": "OCISERVICE", "service": "functions", "resource": app_id,
        "category": "invoke"}}
    run(cloud, "logging", "log", "create", "--log-group-id", group, "--display-name",
        "events-invoke", "--log-type", "SERVICE", "--configuration",
        json.dumps(configuration), "--wait-for-state", "SUCCEEDED")
    logs = run(cloud, "logging", "log", "list", "--log-group-id", group)["data"]
    assert [(log["display-name"], log["log-type"], log["is-enabled"]) for log in logs] == \
        [("events-invoke", "SERVICE", True)]
    assert logs[0]["configuration"]["source"]["resource"] == app_id
    return group, logs[0]["id"]


def test_function_output_is_searchable(cloud: LocalCloud, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = deploy(cloud, markers)
    group, log = _invoke_log(cloud, fn.application_id)

    rule_on_uploads(cloud, "reports", fn.id)
    bucket(cloud, "reports").put_object(cloud.namespace, "reports", "bad.csv.gz", b"nope")
    delivered = wait_for(lambda: cloud.event_deliveries("DELIVERED"), timeout=60)[0]

    scope = f'"{cloud.compartment_id}/{group}/{log}"'
    found = wait_for(lambda: search(
        cloud, f"search {scope} | where data.message = 'looking at bad.csv.gz'")["results"],
        timeout=30)
    assert len(found) == 1
    record = found[0]["data"]
    content = record["logContent"]
    assert content["type"] == "com.oraclecloud.functions.application.functioninvoke"
    assert (content["source"], content["subject"]) == ("events", "on-upload")
    assert content["data"]["functionId"] == fn.id
    assert content["data"]["applicationId"] == fn.application_id
    assert (content["oracle"]["logid"], content["oracle"]["loggroupid"]) == (log, group)
    assert isinstance(record["datetime"], int)

    # Seed 002's form: the log group alone, logId, newest first; names work too.
    everything = search(cloud, f'search "{group}" | where logId = "{log}" '
                               "| sort by datetime desc")["results"]
    assert len(everything) >= 2
    times = [r["data"]["datetime"] for r in everything]
    assert times == sorted(times, reverse=True)
    by_name = search(cloud, f'search "{cloud.compartment_id}/functions/events-invoke"')
    ids = {r["data"]["logContent"]["id"] for r in by_name["results"]}
    assert {r["data"]["logContent"]["id"] for r in everything} <= ids  # more may have come
    # The runtime's JSON lines carry the call id the delivery recorded (plain prints
    # do not, locally).
    this_call = search(cloud, f"search {scope} | where data.requestId = "
                              f"'{delivered['callId']}' and not data.message = 'x'")
    assert this_call["summary"]["result-count"] >= 1
    assert any("not a report: bad.csv.gz" in r["data"]["logContent"]["data"]["message"]
               for r in this_call["results"])
    assert search(cloud, f"search {scope} | where subject = 'nobody'")["results"] == []

    refused = search(cloud, f"search {scope} | stats count by subject", check=False)
    assert refused.returncode != 0 and '"status": 400' in refused.stderr
    assert "not supported" in refused.stderr

    # The SDK's client reads the same answer.
    client = cloud.client(oci.loggingsearch.LogSearchClient)
    answer = client.search_logs(oci.loggingsearch.models.SearchLogsDetails(
        time_start=datetime.now(UTC) - timedelta(hours=1), time_end=datetime.now(UTC),
        search_query=f"search {scope}")).data
    assert isinstance(answer, oci.loggingsearch.models.SearchResponse)
    assert answer.summary.result_count >= len(everything)
    assert all(r.data["logContent"]["oracle"]["logid"] == log for r in answer.results)


def test_logs_need_a_functions_application(cloud: LocalCloud) -> None:
    run(cloud, "logging", "log-group", "create", "--compartment-id", cloud.compartment_id,
        "--display-name", "g")
    group = run(cloud, "logging", "log-group", "list", "--compartment-id",
                cloud.compartment_id)["data"][0]["id"]
    dup = cli(cloud, "logging", "log-group", "create", "--compartment-id",
              cloud.compartment_id, "--display-name", "g", check=False)
    assert '"status": 409' in dup.stderr

    def create(source: dict[str, str]) -> str:
        done = cli(cloud, "logging", "log", "create", "--log-group-id", group,
                   "--display-name", "l", "--log-type", "SERVICE", "--configuration",
                   json.dumps({"source": {"sourceType": "OCISERVICE", **source}}),
                   check=False)
        assert done.returncode != 0
        return done.stderr

    no_app = create({"service": "functions", "resource": "ocid1.fnapp.oc1..none",
                     "category": "invoke"})
    assert '"status": 400' in no_app and "configuration.source.resource" in no_app
    other = create({"service": "objectstorage", "resource": "b", "category": "write"})
    assert '"status": 400' in other and "configuration.source" in other

    custom = run(cloud, "logging", "log", "create", "--log-group-id", group, "--display-name",
                 "mine", "--log-type", "CUSTOM", "--retention-duration", "60")
    assert custom.get("opc-work-request-id", "").startswith("ocid1.")
    bad_retention = cli(cloud, "logging", "log", "create", "--log-group-id", group,
                        "--display-name", "x", "--log-type", "CUSTOM",
                        "--retention-duration", "45", check=False)
    assert '"status": 400' in bad_retention.stderr and "retentionDuration" in bad_retention.stderr
    busy = cli(cloud, "logging", "log-group", "delete", "--log-group-id", group, "--force",
               check=False)
    assert '"status": 409' in busy.stderr
    unknown = search(cloud, f'search "{cloud.compartment_id}/nope"', check=False)
    assert '"status": 400' in unknown.stderr and "nope" in unknown.stderr


def test_query_subset() -> None:
    record = {"datetime": 5, "logContent": {"subject": "f", "data": {"message": "it's"},
                                            "oracle": {"logid": "L"}}}
    query = parse("""search "c" | where (data.message = 'it''s' or subject = 'g') """
                  """and logId != "M" | sort by datetime desc, subject""")
    assert query.where[0](record)
    assert query.sort == [("datetime", True), ("subject", False)]
    assert value_of(record, "logContent.data.message") == "it's"
    assert value_of(record, "DATA.MESSAGE") == "it's"
    assert not parse("search \"c\" | where datetime = 6").where[0](record)
    assert parse("search \"c\" | where datetime = 5").where[0](record)
    for bad, says in (("search \"c\" | where x > 1", "operator '>'"),
                      ("search c", "quoted"), ("select x", "must start with search"),
                      ("search \"c\" | where", "ends too early"),
                      ("search \"c\" | where a = b", "quoted string or a number")):
        with pytest.raises(Exception, match=says):
            parse(bad)
