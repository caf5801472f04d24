"""checkov (with the module's custom policies) and trivy on seed 002's Terraform, offline;
each also shown to catch what it promises on a broken copy of the module."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.infra import INFRA, PLACEHOLDER, run, tool

CUSTOM_CHECKS = {f"CKV2_TRIVIAPAY_{n}" for n in range(1, 9)}


def checkov(directory: Path) -> dict[str, Any]:
    result = run([tool("checkov", "bin", "checkov"), "-d", directory, "--framework",
                  "terraform", "--skip-download", "--external-checks-dir",
                  directory / "checkov", "-o", "json"], cwd=directory)
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0, result.stderr[-2000:]
    return report


@pytest.mark.slow
def test_checkov_passes_with_the_custom_policies_and_each_skip_is_justified() -> None:
    report = checkov(INFRA)
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert {c["check_id"] for c in results["passed_checks"]} >= CUSTOM_CHECKS
    for skipped in results["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "").strip()
        assert len(reason) > 20, skipped["check_id"]  # a reason, not a bare skip


BREAKS = {  # file: (what the module says, a broken promise); one per custom policy
    "compute.tf": [("assign_public_ip = false", "assign_public_ip = true"),
                   ("are_legacy_imds_endpoints_disabled = true",
                    "are_legacy_imds_endpoints_disabled = false")],
    "vault.tf": [(f'secret_placeholder = "{PLACEHOLDER}"',
                  'secret_placeholder = "cG9zdGdyZXM6Ly9hZG1pbjpodW50ZXIyQGRi"'),
                 ('protection_mode     = "HSM"', 'protection_mode     = "SOFTWARE"')],
    "ocir.tf": [("is_public      = false", "is_public      = true")],
    "nsg.tf": [('source                    = oci_core_network_security_group.lb.id',
                'source                    = "0.0.0.0/0"')],
    "network.tf": [('  display_name               = "${var.name_prefix}-default-deny"\n',
                    '  display_name               = "${var.name_prefix}-default-deny"\n'
                    '  ingress_security_rules {\n    protocol = "6"\n'
                    '    source   = "0.0.0.0/0"\n  }\n'),
                   ("prohibit_public_ip_on_vnic = true", "prohibit_public_ip_on_vnic = false")],
}


@pytest.mark.slow
def test_checkov_custom_policies_each_catch_their_broken_promise(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    for name, edits in BREAKS.items():
        text = (copy / name).read_text()
        for old, new in edits:
            assert text.count(old) == 1, (name, old)
            text = text.replace(old, new)
        (copy / name).write_text(text)
    report = checkov(copy)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert failed >= CUSTOM_CHECKS, CUSTOM_CHECKS - failed


def trivy(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Offline: the embedded checks (it logs that it falls back to them), no DB download.
    return run([tool("trivy", "bin", "trivy"), "fs", "--quiet", "--skip-check-update",
                "--skip-db-update", "--scanners", "misconfig,secret", "--severity",
                "HIGH,CRITICAL", "--exit-code", "1", "--format", "json", *args, directory],
               cwd=directory)


@pytest.mark.slow
def test_trivy_finds_no_high_or_critical_and_would_find_a_planted_key(tmp_path: Path) -> None:
    result = trivy(INFRA)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert any(r.get("Class") == "config" for r in report.get("Results", [])), \
        "trivy scanned no Terraform"
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    leaked = "".join(["ghp_", "R3aLt0kenR3aLt0kenR3aLt0kenR3aLt0ken0"])
    (copy / "leak.tf").write_text('locals {\n  token = "' + leaked + '"\n}\n')
    result = trivy(copy)
    assert result.returncode == 1
    assert "leak.tf" in result.stdout
