"""Seed 001's recorded tenancy: the doctor names the cause and the fix, through the CLI;
after exactly that fix the pull check passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from fastfn.cli import app

from support.doctor import seed001, with_statement

FUNC_YAML = """schema_version: 20180708
name: postgres-inserter
version: 0.0.1
runtime: docker
memory: 512
timeout: 60
annotations:
  fn.oci.oracle.com/fn/invokeEndpoint: "/items"
  oracle.com/oci/auth/principal: "dynamic_group"
"""
DOCKERFILE = """FROM python:3.12.3-slim-bookworm AS build
RUN pip install fastapi
FROM python:3.12.3-slim-bookworm
COPY . /app
CMD [ "uvicorn", "main:app", "--uds", "/tmp/iofs/lsnr.sock" ]
"""


def _cli(cloud: Any, fid: str, service_dir: Path, *extra: str) -> Any:
    return CliRunner().invoke(app, ["doctor", str(service_dir), "--function-id", fid,
                                    "--cloud-state", str(cloud.state_dir), *extra])


SEED_CMD = ["uvicorn", "main:app", "--uds", "/tmp/iofs/lsnr.sock"]


def test_seed_001_names_the_cause_and_the_fix(deploy: Callable[..., Any]) -> None:
    with deploy(command=SEED_CMD) as d:
        (d.service_dir / "func.yaml").write_text(FUNC_YAML)
        (d.service_dir / "Dockerfile").write_text(DOCKERFILE)
        result = _cli(d.cloud, d.function_id, d.service_dir, "--json")
        assert result.exit_code == 1, result.output
        findings = {(f["check"], f["status"]): f
                    for f in json.loads(result.output)["findings"]}
        pull = findings[("policy.faas-pull", "fail")]
        assert "FunctionInvokeImageNotAvailable" in pull["cause"]
        assert pull["fix"].startswith("Allow service faas to read repos in tenancy")
        # what the seed believed is fine is reported fine
        for check in ("network.route", "network.egress", "image.present", "image.region",
                      "policy.faas-network"):
            assert (check, "ok") in findings, check
        # its IAM anomaly, its func.yaml keys and its CMD
        assert "root compartment" in findings[("image.repository", "warn")]["cause"]
        assert "manage repos in compartment Sandbox" in \
            findings[("image.repository", "warn")]["fix"]
        notes = [f["cause"] for f in json.loads(result.output)["findings"]
                 if f["check"] == "func-yaml.keys"]
        assert any("oracle.com/oci/auth/principal" in n for n in notes)
        assert any("fn.oci.oracle.com/fn/invokeEndpoint" in n for n in notes)
        assert "lsnr.sock" in findings[("container.cmd", "fail")]["cause"]

        table = _cli(d.cloud, d.function_id, d.service_dir)
        assert table.exit_code == 1
        assert all(len(line) <= 80 for line in table.output.splitlines())
        assert "policy.faas-pull" in table.output and "fail" in table.output


def test_the_suggested_fix_makes_the_pull_check_pass(deploy: Callable[..., Any]) -> None:
    with deploy() as d:
        fix = next(f.fix for f in d.findings("policy.faas-pull"))
    statement = fix.split(" (")[0]
    with deploy(with_statement(seed001(), statement)) as d:
        finding = d.findings("policy.faas-pull")[0]
        assert finding.status == "ok" and statement in finding.cause
        assert not d.report().failed


def test_a_stage_without_a_deploy_or_cloud_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "fastfn.yaml").write_text("name: svc\napp: main:app\n")
    result = CliRunner().invoke(app, ["doctor", str(tmp_path), "--cloud-state",
                                      str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no recorded" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["doctor", str(tmp_path), "--function-id", "ocid1.x",
                                      "--cloud-state", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no local cloud is running" in " ".join(result.output.split())
