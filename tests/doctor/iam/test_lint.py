"""Lint findings: seed 001's policies flagged with replacements, the mailer's clean; the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fastfn.doctor.iam.lint import TenancyNames, lint, lint_statement
from fastfn.iam.grammar import Statement, parse_statement

SEED001 = [
    ("CICD-Deployers-Policy",
     ["Allow group CI-CD-Deployers to manage functions-family in compartment Sandbox"]),
    ("PostgresInserterFunction-Runtime-Policy", [
        "Allow dynamic-group PostgresInserterFunctionDG to use virtual-network-family in "
        "compartment Sandbox",
        "Allow dynamic-group PostgresInserterFunctionDG to read secret-bundles in compartment "
        "Sandbox",
        "Allow dynamic-group PostgresInserterFunctionDG to use keys in compartment Sandbox"]),
    ("Tenancy-Wide-Service-Policies", [
        "Allow group CI-CD-Deployers to manage repos in tenancy",
        "Allow service faas to use virtual-network-family in compartment Sandbox"]),
]
SEED001_TENANCY = TenancyNames(frozenset({"sandbox"}), frozenset({"ci-cd-deployers"}),
                               frozenset({"postgresinserterfunctiondg"}))
C = "ocid1.compartment.oc1..sandbox"
MAILER = [("usagereports-function-policy", [
    f"Allow dynamic-group usagereports-function-dg to read objects in compartment id {C}"
    " where target.bucket.name = 'monthly-usage-reports'",
    f"Allow dynamic-group usagereports-function-dg to manage objects in compartment id {C}"
    " where all {target.bucket.name = 'monthly-usage-reports-mailer-state',"
    " any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_READ',"
    " request.permission = 'OBJECT_OVERWRITE', request.permission = 'OBJECT_DELETE'}}",
    f"Allow dynamic-group usagereports-function-dg to read secret-bundles in compartment id {C}"
    " where any {target.secret.id = 'ocid1.vaultsecret.oc1..u',"
    " target.secret.id = 'ocid1.vaultsecret.oc1..p'}",
])]


def rules(findings: list) -> list[tuple[str, str]]:
    return [(f.rule, f.level) for f in findings]


def test_seed001_findings() -> None:
    findings = lint(SEED001, SEED001_TENANCY)
    assert sorted(rules(findings)) == sorted([
        ("family", "warning"), ("secret-unscoped", "warning"), ("keys-not-needed", "warning"),
        ("repos-in-tenancy", "error")])
    repos = next(f for f in findings if f.rule == "repos-in-tenancy")
    assert "oci artifacts container repository create" in repos.message
    assert repos.replacement == ("Allow group CI-CD-Deployers to manage repos in compartment "
                                 "<function-compartment>")
    family = next(f for f in findings if f.rule == "family")
    assert family.replacement == ("Allow dynamic-group PostgresInserterFunctionDG to use "
                                  "subnets in compartment Sandbox")
    # every replacement is a valid statement once its placeholder is filled in
    for f in findings:
        if f.replacement:
            text = f.replacement.replace("<function-compartment>", "Sandbox")
            assert isinstance(parse_statement(text), Statement)


def test_mailer_is_clean() -> None:
    assert lint(MAILER) == []


@pytest.mark.parametrize(("text", "rule", "replacement"), [
    ("Allow dynamic-group d to manage secret-bundles in compartment X where "
     "target.secret.name = 's'", "manage",
     "Allow dynamic-group d to read secret-bundles in compartment X where "
     "target.secret.name = 's'"),
    ("Allow dynamic-group d to read objects in tenancy", "tenancy",
     "Allow dynamic-group d to read objects in compartment <function-compartment>"),
    ("Allow dynamic-group d to use functions-family in compartment X", "family",
     "Allow dynamic-group d to use fn-invocation in compartment X"),
])
def test_over_broad_statements(text: str, rule: str, replacement: str) -> None:
    found = {f.rule: f for f in lint_statement("p", text)}
    assert found[rule].replacement == replacement


def test_unknown_subject_and_compartment() -> None:
    found = lint_statement("p", "Allow group Nobody to read objects in compartment Nowhere",
                           SEED001_TENANCY)
    assert rules(found) == [("unknown-subject", "error"), ("unknown-compartment", "error")]
    assert lint_statement("p", "Allow group CI-CD-Deployers to read objects in compartment "
                          "Sandbox", SEED001_TENANCY) == []


def test_syntax_error_is_a_finding() -> None:
    (f,) = lint_statement("p", "Allow group g read objects in tenancy")
    assert f.rule == "syntax" and "column 15" in f.message


def fastfn(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastfn", "iam", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_cli_lints_a_tenancy_yaml(tmp_path: Path) -> None:
    import yaml

    doc = {"compartments": [{"name": "Sandbox"}], "groups": [{"name": "CI-CD-Deployers"}],
           "dynamic_groups": [{"name": "PostgresInserterFunctionDG", "matching_rule":
                               "ALL {resource.type = 'fnfunc'}"}],
           "policies": [{"name": n, "compartment": "Sandbox", "statements": s}
                        for n, s in SEED001]}
    path = tmp_path / "tenancy.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = fastfn("lint", str(path), "--json")
    assert out.returncode == 1, out.stderr
    assert {f["rule"] for f in json.loads(out.stdout)} == {
        "family", "secret-unscoped", "keys-not-needed", "repos-in-tenancy"}
    table = fastfn("lint", str(path))
    assert table.returncode == 1
    assert "repos-in-tenancy" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_cli_clean_lines_from_stdin() -> None:
    out = fastfn("lint", "-", stdin="\n".join(MAILER[0][1]) + "\n")
    assert out.returncode == 0 and out.stdout.strip() == "no findings"


def test_cli_errors_print_as_is(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("policies: [x]\nnote: '[bold]'\n")
    out = fastfn("lint", str(path))
    assert out.returncode == 2 and "policies[0].statements must be a list" in out.stderr
    assert "Traceback" not in out.stderr
    missing = fastfn("lint", str(tmp_path / "[nope].txt"))
    assert missing.returncode == 2 and "[nope].txt" in missing.stderr
