"""`fastfn iam suggest`: minimal statements from recorded operations; on the mailer (its
real run on a recording local cloud) no broader than setup.yaml's three statements."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import oci
import pytest
from typer.testing import CliRunner

from fastfn.cli import app
from fastfn.doctor.iam.suggest import suggest
from fastfn.iam.catalog import PERMISSIONS
from fastfn.iam.evaluate import (
    CompartmentTree,
    DynamicGroup,
    Policy,
    PolicySet,
    Request,
    ResourcePrincipal,
)

C = "ocid1.compartment.oc1..c"
DG = "dynamic-group my-dg"


def record(op: str, rtype: str, perms: tuple[str, ...], **variables: str) -> dict[str, Any]:
    return {"principal": {"kind": "resource", "id": "ocid1.fnfunc.oc1..f", "type": "fnfunc"},
            "operation": op, "resourceType": rtype, "permissions": list(perms),
            "compartmentId": C, "variables": variables, "allowed": True}


def test_objects_per_bucket_and_exact_permissions_under_manage() -> None:
    records = [
        record("GetObject", "objects", ("OBJECT_READ",), **{"target.bucket.name": "in"}),
        record("PutObject.create", "objects", ("OBJECT_CREATE",),
               **{"target.bucket.name": "state"}),
        record("DeleteObject", "objects", ("OBJECT_DELETE",),
               **{"target.bucket.name": "state"}),
    ]
    assert [s.statement for s in suggest(records, DG)] == [
        f"Allow {DG} to read objects in compartment id {C} where target.bucket.name = 'in'",
        f"Allow {DG} to manage objects in compartment id {C} where all "
        "{target.bucket.name = 'state', any {request.permission = 'OBJECT_CREATE', "
        "request.permission = 'OBJECT_DELETE'}}",
    ]


def test_secrets_by_name_and_the_permission_list_fallback() -> None:
    records = [
        record("GetSecretBundle", "secret-bundles", ("SECRET_BUNDLE_READ",),
               **{"target.secret.name": "b"}),
        record("GetSecretBundle", "secret-bundles", ("SECRET_BUNDLE_READ",),
               **{"target.secret.name": "a"}),
        record("ListVnicAttachments", "vnic-attachments",
               ("VNIC_ATTACHMENT_READ", "INSTANCE_INSPECT")),
    ]
    out = [s.statement for s in suggest(records, DG)]
    assert out == [
        f"Allow {DG} to read secret-bundles in compartment id {C} where any "
        "{target.secret.name = 'a', target.secret.name = 'b'}",
        f"Allow {DG} to {{INSTANCE_INSPECT, VNIC_ATTACHMENT_READ}} in compartment id {C}",
    ]


def test_a_call_without_the_target_variable_is_not_narrowed() -> None:
    records = [record("ListBuckets", "buckets", ("BUCKET_INSPECT",)),
               record("GetBucket", "buckets", ("BUCKET_READ",), **{"target.bucket.name": "x"})]
    out = [s.statement for s in suggest(records, DG)]
    assert f"Allow {DG} to inspect buckets in compartment id {C}" in out
    assert f"Allow {DG} to read buckets in compartment id {C} where target.bucket.name = 'x'" \
        in out


# -- on the mailer --------------------------------------------------------------------------

def _policy_set(statements: list[str], dg_name: str, fn_id: str, tenancy: str) -> PolicySet:
    return PolicySet([Policy.parse("p", C, statements)], CompartmentTree(tenancy),
                     [DynamicGroup.parse(dg_name, "ocid1.dynamicgroup.oc1..dg",
                                         f"ALL {{resource.id = '{fn_id}'}}")])


@pytest.mark.slow
def test_suggest_on_the_mailer_is_no_broader_than_setup_yaml(tmp_path: Path) -> None:
    from fastfn.localcloud.oci import LocalCloud

    from support.mailer import BUCKET, SMTPServer, deploy, gzip_report
    from support.waiting import wait_for

    state = tmp_path / "state"
    with SMTPServer(tmp_path / "smtp") as smtp, \
            LocalCloud(state, record_operations=True) as cloud:
        applied = deploy(cloud, smtp)
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        storage.put_object(cloud.namespace, BUCKET, "nov.csv.gz", gzip_report())
        wait_for(lambda: len(smtp.messages) == 1)
        wait_for(lambda: [d for d in cloud.event_deliveries() if d["state"] != "PENDING"])
        storage.put_object(cloud.namespace, BUCKET, "nov.csv.gz", gzip_report())  # again
        wait_for(lambda: len([d for d in cloud.event_deliveries()
                              if d["state"] != "PENDING"]) == 2)
        compartment, tenancy = cloud.compartment_id, cloud.tenancy_id
        secret_names = {applied.secrets[k]: n for k, n in (
            ("SMTP_USERNAME_SECRET_OCID", "smtp-username"),
            ("SMTP_PASSWORD_SECRET_OCID", "smtp-password"))}

    from fastfn.localcloud.oci.core.layout import StateLayout

    from support.mailer import PASSWORD, USER

    recorded = StateLayout(state).operations.read_text()
    assert PASSWORD not in recorded and USER not in recorded  # names and ids, no values
    result = CliRunner().invoke(app, [
        "iam", "suggest", "--state-dir", str(state), "--principal", applied.function_id,
        "--dynamic-group", "usagereports-function-dg"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("# dynamic-group usagereports-function-dg: matching rule")
    suggested = [ln for ln in lines if ln.startswith("Allow ")]
    assert 1 <= len(suggested) <= 3, suggested
    assert all(f"in compartment id {compartment}" in s for s in suggested)

    fn = ResourcePrincipal("fnfunc", applied.function_id, compartment)
    mine = _policy_set(suggested,
                       "usagereports-function-dg", applied.function_id, tenancy)
    theirs = _policy_set(applied.policy["statements"], "usagereports-function-dg",
                         applied.function_id, tenancy)
    # Everything the mailer did is allowed by the suggestion...
    from fastfn.localcloud.oci.core.authz import read_operations

    done = [r for r in read_operations(StateLayout(state).operations)
            if r["principal"]["id"] == applied.function_id]
    assert {r["operation"] for r in done} >= {"GetObject", "GetSecretBundle"}
    for r in done:
        assert mine.authorize(fn, Request(r["operation"], tuple(r["permissions"]),
                                          r["compartmentId"], r["variables"])).allowed, r
    # ...and nothing the suggestion allows is outside setup.yaml's statements.
    buckets = [BUCKET, f"{BUCKET}-mailer-state", "other-bucket"]
    secrets = [*secret_names.items(), ("ocid1.vaultsecret.oc1..other", "other")]
    probes = 0
    for rtype, table in PERMISSIONS.items():
        for perm in sorted(table["manage"] or table["use"] or table["read"]):
            for bucket, (secret_id, secret_name) in itertools.product(buckets, secrets):
                variables = {"target.bucket.name": bucket, "target.secret.id": secret_id,
                             "target.secret.name": secret_name}
                request = Request("Probe", (perm,), compartment, variables)
                if mine.authorize(fn, request).allowed:
                    probes += 1
                    assert theirs.authorize(fn, request).allowed, (rtype, perm, variables)
    assert probes > 0


def test_suggest_cli_errors_say_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["iam", "suggest", "--state-dir", str(tmp_path)])
    assert missing.exit_code == 2
    assert "--record" in missing.output
    log = tmp_path / "iam" / "operations.jsonl"
    log.parent.mkdir(parents=True)
    two = [record("GetObject", "objects", ("OBJECT_READ",)),
           {**record("GetObject", "objects", ("OBJECT_READ",)),
            "principal": {"kind": "resource", "id": "ocid1.fnfunc.oc1..g", "type": "fnfunc"}}]
    log.write_text("".join(json.dumps(r) + "\n" for r in two))
    ambiguous = runner.invoke(app, ["iam", "suggest", "--state-dir", str(tmp_path)])
    assert ambiguous.exit_code == 2
    assert "ocid1.fnfunc.oc1..f" in ambiguous.output and "ocid1.fnfunc.oc1..g" in ambiguous.output
    chosen = runner.invoke(app, ["iam", "suggest", "--state-dir", str(tmp_path), "--principal",
                                 "ocid1.fnfunc.oc1..g", "--json"])
    assert chosen.exit_code == 0
    statement = json.loads(chosen.output)[0]["statement"]
    assert statement.startswith("Allow dynamic-group fastfn-") and ".." not in \
        statement.split(" to ")[0]
    assert " to read objects in compartment id ocid1.compartment.oc1..c" in statement
    log.write_text("{not json\n")
    broken = runner.invoke(app, ["iam", "suggest", "--state-dir", str(tmp_path)])
    assert broken.exit_code == 2 and "Traceback" not in broken.output
