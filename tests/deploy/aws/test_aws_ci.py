"""`fastfn ci github` for the aws target: seed 004's branch -> stage flow, tests on the
embedded AWS, OIDC role assumption, per-stage concurrency; actionlint-clean."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fastfn.cli import app

from support.ci import actionlint

REPO = Path(__file__).resolve().parents[3]
DIGEST = REPO / "examples" / "github-digest"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(DIGEST, root / "services" / "digest")
    return root


def generate(repo: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["ci", "github", str(repo / "services" / "digest"),
                                      *args], catch_exceptions=False)
    out = repo / ".github" / "workflows"
    flows = {p.name: yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yml"))}
    return result.exit_code, result.output, flows


def test_seed_004_flow(repo: Path) -> None:
    code, out, flows = generate(repo, "--repo", "acme/digest")
    assert code == 0, out
    flow = flows["github-digest-aws.yml"]
    on = flow.get("on") or flow[True]
    assert on["push"]["branches"] == ["dev", "main"] and on["push"]["tags"] == ["v*"]
    jobs = flow["jobs"]
    assert set(jobs) == {"test", "deploy-dev", "deploy-qa", "deploy-prod"}
    assert "refs/heads/dev" in jobs["deploy-dev"]["if"]
    assert "refs/heads/main" in jobs["deploy-qa"]["if"]
    assert "refs/tags/v" in jobs["deploy-prod"]["if"]
    for stage in ("dev", "qa", "prod"):
        job = jobs[f"deploy-{stage}"]
        assert job["needs"] == "test" and job["environment"] == stage
        assert "acme/digest" in job["if"]
        assert job["concurrency"] == {"group": f"fastfn-github-digest-aws-{stage}",
                                      "cancel-in-progress": False}
        assert job["permissions"]["id-token"] == "write"
        creds = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses",
                                                                                      ""))
        assert "role-to-assume" in creds["with"]
        assert any(f"--stage {stage}" in s.get("run", "") for s in job["steps"])
    text = (repo / ".github" / "workflows" / "github-digest-aws.yml").read_text()
    assert "AWS_SECRET_ACCESS_KEY" not in text and "AWS_ACCESS_KEY_ID" not in text
    assert "fastfn cloud up --aws" in text  # tests on the embedded AWS, not LocalStack
    assert "localstack" not in text.lower()


def test_missing_stage_is_named(repo: Path) -> None:
    manifest = repo / "services" / "digest" / "fastfn.yaml"
    text = manifest.read_text()
    manifest.write_text(text[:text.index("  qa:")] + text[text.index("  prod:"):])
    code, out, _ = generate(repo)
    assert code != 0 and "stages.qa" in out


def test_actionlint_passes(repo: Path) -> None:
    binary = actionlint()
    assert binary is not None, "actionlint is missing: run scripts/setup.sh"
    code, out, _ = generate(repo, "--repo", "acme/digest")
    assert code == 0, out
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    files = sorted(str(p) for p in (repo / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run([binary, "-no-color", *files], capture_output=True, text=True,
                            env=env, cwd=repo, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
