"""Tables fit 80 columns: OCIDs are shortened in them (the full value is in `--json`)."""

from __future__ import annotations

import io
import json

from rich.console import Console

from fastfn.cli import deploy as deploy_cli
from fastfn.cli import doctor as doctor_cli
from fastfn.cli.cloud import deliveries_table
from fastfn.cli.ids import short_ocid, shorten_ocids
from fastfn.deploy.plan import Plan, SettingChange
from fastfn.deploy.steps import Call
from fastfn.doctor.findings import Finding, Report

FUNCTION = "ocid1.fnfunc.oc1.eu-frankfurt-1.aaaaaaaaq3bx6kbwzwxk7o5ef2yq6w5fz4lkhrxuzx5hrta1b2c3"
SUBNET = "ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaawg2bsd7ftmdrmvwdvrw5nvxhq7bgnyyhkr3oxyzd4e5f6"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq"


def test_an_ocid_keeps_its_type_and_last_six_characters():
    assert short_ocid(FUNCTION) == "ocid1.fnfunc\u2026a1b2c3"
    assert short_ocid(TENANCY) == "ocid1.tenancy\u2026fsfdsq"  # empty region
    assert short_ocid("ocid1.fnapp.oc1..ab") == "ocid1.fnapp\u2026ab"
    for other in ("items-dev", "ocid1.fnfunc", "", "arn:aws:lambda:eu-west-1:1:function:f"):
        assert short_ocid(other) == other


def test_ocids_inside_text_are_shortened_and_the_rest_kept():
    text = f"subnet_ids=[\"{SUBNET}\"], function {FUNCTION}. see [docs]"
    assert shorten_ocids(text) == ("subnet_ids=[\"ocid1.subnet\u2026d4e5f6\"], function "
                                   "ocid1.fnfunc\u2026a1b2c3. see [docs]")
    assert shorten_ocids("no ids here") == "no ids here"


def rendered(print_it, monkeypatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(deploy_cli, "console", Console(file=out, width=80))
    print_it()
    return out.getvalue()


def lines_fit(text: str) -> bool:
    return all(len(line) <= 80 for line in text.splitlines())


class NothingDeployed:
    deployed = False

    def ids(self) -> dict[str, str]:
        return {}


def test_plan_and_drift_tables_show_short_ocids(monkeypatch):
    call = Call("update_function", "function", "items", FUNCTION,
                {"function_id": FUNCTION, "memory_in_mbs": 256})
    create = Call("create_application", "application", "shop", None,
                  {"subnet_ids": [SUBNET], "shape": "GENERIC_X86"})
    change = SettingChange("application", "subnet_ids", [SUBNET], [SUBNET.replace("d4e5f6",
                                                                                   "000000")])
    plan = Plan("shop", "dev", "full", [create, call], [change], [], None, NothingDeployed())
    out = rendered(lambda: deploy_cli.print_plan(plan), monkeypatch)
    assert "ocid1.fnfunc\u2026a1b2c3" in out and "ocid1.subnet\u2026d4e5f6" in out, out
    assert "ocid1.subnet\u2026000000" in out
    assert FUNCTION not in out and SUBNET not in out and "aaaaaaaa" not in out
    assert lines_fit(out), out
    # the JSON form keeps every id whole
    assert json.dumps(plan.to_json()).count(FUNCTION) == 2


def test_event_deliveries_table_shows_short_ocids():
    row = {"state": "FAILED", "eventType": "com.oraclecloud.objectstorage.createobject",
           "resourceName": "report.csv.gz", "attempts": 3, "outerStatus": 502,
           "errorCategory": "function-error",
           "lastError": f"function {FUNCTION} answered 502 [timeout]"}
    out = io.StringIO()
    Console(file=out, width=80).print(deliveries_table([row]))
    text = out.getvalue()
    # the error column, its wrapped lines joined
    error = "".join(line.split("\u2502")[-2].replace(" ", "") for line in text.splitlines()
                    if line.startswith("\u2502"))
    assert error == "functionocid1.fnfunc\u2026a1b2c3answered502[timeout]", text
    assert lines_fit(text), text


def test_doctor_findings_show_short_ocids(capsys):
    report = Report(target={"function_id": FUNCTION, "region": "eu-frankfurt-1"},
                    findings=[Finding(check="network.route", status="fail",
                                      cause=f"subnet {SUBNET} has no route to the registry",
                                      fix=f"oci network subnet update --subnet-id {SUBNET}")])
    doctor_cli.print_report(report)
    text = capsys.readouterr().out
    assert text.count("ocid1.subnet\u2026d4e5f6") == 2, text
    assert SUBNET not in text
    assert lines_fit(text), text
