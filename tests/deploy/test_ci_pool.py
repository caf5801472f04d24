"""`fastfn ci github --target pool`: seed 002's oci-deploy and infra-ci workflows, checked
for structure against the service's own Terraform module, their guard evaluated for each
ref, their inline scripts run for real (the state-outputs step against the local cloud
with the real oci SDK, the plan scan on plans), and actionlint with shellcheck."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import oci
import pytest
import yaml
from typer.testing import CliRunner

from fastfn.cli import app
from fastfn.deploy.targets.pool.ci import platform_for_pool_shape
from fastfn.deploy.targets.pool.ci_scripts import PLAN_SCAN, STATE_OUTPUTS
from fastfn.localcloud.oci import LocalCloud

from support.ci import actionlint
from support.deploy import HELLO
from support.infra import INFRA, REPO, load


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    service = root / "services" / "hello"
    shutil.copytree(HELLO, service)
    shutil.copytree(INFRA, service / "infra")
    return root


def generate(repo: Path, *args: str) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["ci", "github", str(repo / "services" / "hello"),
                                      "--target", "pool", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = repo / ".github" / "workflows"
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yml"))}


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return dict(workflow.get("on") or workflow[True])  # YAML 1.1 reads `on` as true


def steps(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step.get("name") or step["uses"]: step for step in job["steps"]}


def heredoc(script: str) -> str:
    return script.split("<<'EOF'\n", 1)[1].rsplit("EOF", 1)[0]


def module(kind: str) -> dict[str, dict[str, Any]]:
    """The infra module's blocks of one kind (output, variable) by name."""
    return {name: body for block in load().get(kind, []) for name, body in block.items()}


def test_oci_deploy_has_seed_002s_shape(repo: Path) -> None:
    flow = generate(repo, "--repo", "acme/trivia")["oci-deploy.yml"]
    on = triggers(flow)
    assert on["push"]["branches"] == ["main", "staging"] and on["push"]["tags"] == ["v*"]
    assert on["workflow_dispatch"]["inputs"]["environment"]["options"] == ["staging", "prod"]
    assert flow["permissions"] == {"contents": "read", "id-token": "write"}
    job = flow["jobs"]["deploy"]
    env_expr = "inputs.environment || (github.ref == 'refs/heads/main' && 'prod' || 'staging')"
    assert job["concurrency"] == {"group": f"oci-${{{{ {env_expr} }}}}-deploy",
                                  "cancel-in-progress": False}
    assert job["environment"] == f"${{{{ {env_expr} }}}}"
    assert job["env"]["SERVICE_DIR"] == "services/hello"
    by_name = steps(job)
    scripts = [s["run"] for s in job["steps"] if "run" in s]
    assert all("${{" not in script for script in scripts)  # values reach scripts by env
    for script in scripts:
        if "<<'EOF'" in script:
            compile(heredoc(script), "step", "exec")

    # Outputs from the state backend: the key the module's backend fixes, and exactly
    # the outputs the module declares.
    (tf,) = [s for name, s in by_name.items() if name.startswith("Terraform outputs")]
    assert tf["env"]["STATE_KEY"] == "${{ vars.OCI_STATE_KEY || 'triviapay/terraform.tfstate' }}"
    assert sorted(tf["env"]["REQUIRED_OUTPUTS"].split()) == sorted(module("output"))
    assert "GITHUB_STEP_SUMMARY" in tf["run"] and "previous instance configuration" in tf["run"]
    # Seed 002's optional drift warning: a plan not printed, never failing the deploy.
    drift = by_name["Terraform drift warning (OCI_TF_DRIFT_CHECK)"]
    assert drift["if"] == "vars.OCI_TF_DRIFT_CHECK == 'true'"
    assert drift["working-directory"] == "services/hello/infra"
    assert "-detailed-exitcode >/dev/null" in drift["run"] and "::warning::" in drift["run"]
    required = {name for name, body in module("variable").items() if "default" not in body}
    assert required <= {key.removeprefix("TF_VAR_") for key in drift["env"]}
    login = by_name["Log in to OCIR (credentials from OCI Vault)"]
    assert login["env"]["OCIR_AUTH_TOKEN_SECRET_ID"] == \
        "${{ steps.tf.outputs.ocir_auth_token_secret_id }}"
    image = next(s for name, s in by_name.items() if name.startswith("Build and push"))
    assert "linux/arm64" in image["run"]  # seed 002's A1 shape
    assert image["env"]["IMAGE"] == "${{ steps.tf.outputs.ocir_repo_url }}:${{ github.sha }}"
    deploy = next(s for name, s in by_name.items() if name.startswith("fastfn deploy"))
    assert "args=(--target pool)" in deploy["run"] and 'fastfn deploy "$SERVICE_DIR"' in \
        deploy["run"]
    assert deploy["env"]["VNIC_SUBNET_ID"] == "${{ steps.tf.outputs.private_subnet_id }}"
    assert deploy["env"]["BACKEND_DRAIN_TIMEOUT_SECONDS"] == \
        "${{ vars.OCI_BACKEND_DRAIN_TIMEOUT_SECONDS || '120' }}"
    smoke = by_name["Smoke test (cache-bypassing)"]
    assert "Cache-Control: no-cache" in smoke["run"] and "nocache=" in smoke["run"]
    assert list(by_name).index("Smoke test (cache-bypassing)") > list(by_name).index(
        deploy["name"])
    # GitHub holds no API key, client secret or registry password: only the smoke URLs.
    used = set(re.findall(r"\$\{\{ secrets\.(\w+)", yaml.safe_dump(flow)))
    assert used == {"HEALTHCHECK_URL", "HEALTHCHECK_DB_URL"}


class _Ctx(SimpleNamespace):
    pass


def allowed(condition: str, ref: str, environment: str = "",
            repository: str = "acme/trivia") -> bool:
    """GitHub's expression for these operators, evaluated: `||`/`&&` return an operand as
    in JavaScript, which Python's or/and also do."""
    python = (condition.replace("&&", " and ").replace("||", " or ")
              .replace("startsWith(", "starts_with("))
    scope = {"github": _Ctx(ref=ref, repository=repository),
             "inputs": _Ctx(environment=environment),
             "vars": _Ctx(OCI_CANONICAL_REPO="acme/trivia"),
             "starts_with": lambda s, prefix: s.startswith(prefix)}
    return bool(eval(python, {"__builtins__": {}}, scope))  # our own generated expression


@pytest.mark.parametrize(("ref", "environment", "repository", "ok"), [
    ("refs/heads/main", "", "acme/trivia", True),  # push to main: prod
    ("refs/heads/staging", "", "acme/trivia", True),  # push to staging: staging
    ("refs/tags/v1.2.0", "", "acme/trivia", True),  # a tag: staging
    ("refs/heads/main", "prod", "acme/trivia", True),
    ("refs/heads/main", "staging", "acme/trivia", True),
    ("refs/heads/staging", "prod", "acme/trivia", False),  # prod = main only
    ("refs/tags/v1.2.0", "prod", "acme/trivia", False),
    ("refs/heads/feature", "staging", "acme/trivia", False),
    ("refs/heads/main", "", "fork/trivia", False),  # repo guard
])
def test_guard_prod_main_only_staging_main_staging_tags(
        repo: Path, ref: str, environment: str, repository: str, ok: bool) -> None:
    for args in (("--repo", "acme/trivia"), ()):  # literal repo, or vars.OCI_CANONICAL_REPO
        flow = generate(repo, *args, "--force")["oci-deploy.yml"]
        job = flow["jobs"]["deploy"]
        assert allowed(job["if"], ref, environment, repository) is ok
        expected_env = environment or ("prod" if ref == "refs/heads/main" else "staging")
        env_expr = job["env"]["DEPLOY_ENV"].removeprefix("${{").removesuffix("}}")
        scope = {"github": _Ctx(ref=ref), "inputs": _Ctx(environment=environment)}
        python = env_expr.replace("&&", " and ").replace("||", " or ")
        assert eval(python, {"__builtins__": {}}, scope) == expected_env


def test_infra_ci_runs_every_check_and_plans_on_main_only(repo: Path) -> None:
    flow = generate(repo, "--repo", "acme/trivia")["infra-ci.yml"]
    on = triggers(flow)
    assert on["pull_request"]["paths"] == ["services/hello/infra/**"]
    assert on["push"] == {"branches": ["main"], "paths": ["services/hello/infra/**"]}
    assert flow["permissions"] == {"contents": "read"}  # OIDC only where the plan runs
    static, plan = flow["jobs"]["static"], flow["jobs"]["plan"]
    assert static["defaults"]["run"]["working-directory"] == "services/hello/infra"
    static_runs = "\n".join(s["run"] for s in static["steps"] if "run" in s)
    for command in ("terraform fmt -check", "terraform init -backend=false",
                    "terraform validate", "tflint --init", "trivy\" config --severity "
                    "HIGH,CRITICAL --exit-code 1", "--external-checks-dir checkov"):
        assert command in static_runs, command
    assert any(s.get("uses", "").startswith("terraform-linters/setup-tflint")
               for s in static["steps"])

    assert plan["needs"] == "static" and plan["permissions"]["id-token"] == "write"
    assert plan["if"] == ("github.ref == 'refs/heads/main' && github.event_name == 'push' "
                          "&& github.repository == 'acme/trivia'")
    by_name = steps(plan)
    init = by_name["terraform init (remote state, session token)"]["run"]
    assert '-backend-config="auth=SecurityToken"' in init
    run_plan = by_name["terraform plan (to a file, not printed)"]["run"]
    assert '-out="$RUNNER_TEMP/tfplan" >/dev/null' in run_plan
    assert "terraform show -json" in run_plan
    scan = by_name["Scan the plan for non-placeholder secret content"]
    compile(heredoc(scan["run"]), "scan", "exec")
    # Every variable the module requires is given to the plan.
    required = {name for name, body in module("variable").items() if "default" not in body}
    given = {key.removeprefix("TF_VAR_") for key in plan["env"]}
    assert required <= given, required - given
    assert plan["env"]["TF_VAR_oci_auth"] == "SecurityToken"


def plan_scan(tmp_path: Path, changes: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format_version": "1.2", "resource_changes": changes}))
    return subprocess.run([sys.executable, "-c", PLAN_SCAN], capture_output=True, text=True,
                          env={**os.environ, "PLAN_JSON": str(plan)}, timeout=30)


def secret_change(name: str, content: str | None) -> dict[str, Any]:
    after = {"secret_name": name, "secret_content": [
        {"content_type": "BASE64", "content": content}]}
    return {"address": f'oci_vault_secret.app["{name}"]', "type": "oci_vault_secret",
            "change": {"actions": ["create"], "after": after}}


def test_plan_scan_passes_placeholders_and_fails_on_real_content(tmp_path: Path) -> None:
    placeholder = base64.b64encode(b"CHANGEME").decode()
    ok = plan_scan(tmp_path, [secret_change("app_env", placeholder),
                              secret_change("ocir_auth_token", placeholder)])
    assert ok.returncode == 0, ok.stderr
    assert "2 secret content value(s), all the CHANGEME placeholder" in ok.stdout

    real = base64.b64encode(b"DATABASE_URL=postgres://app:s3cret@db/app").decode()
    bad = plan_scan(tmp_path, [secret_change("app_env", real),
                               secret_change("ocir_auth_token", placeholder)])
    assert bad.returncode == 1
    assert 'oci_vault_secret.app["app_env"]' in bad.stderr
    assert real not in bad.stderr + bad.stdout and "s3cret" not in bad.stderr + bad.stdout

    user_data = base64.b64encode(b"#!/bin/bash\nexport DB=postgres://app:hunter2@db/x\n")
    config = {"address": "oci_core_instance_configuration.api",
              "type": "oci_core_instance_configuration",
              "change": {"after": {"instance_details": [{"launch_details": [{"metadata": {
                  "user_data": user_data.decode()}}]}]}}}
    leaked = plan_scan(tmp_path, [config])
    assert leaked.returncode == 1
    assert "oci_core_instance_configuration.api" in leaked.stderr
    assert "hunter2" not in leaked.stderr + leaked.stdout


@pytest.mark.slow
def test_state_outputs_step_reads_the_state_object_and_names_missing_outputs(
        tmp_path: Path) -> None:
    from oci.core.models import (
        ComputeInstanceDetails,
        CreateInstanceConfigurationDetails,
        CreateInstancePoolDetails,
        CreateInstancePoolPlacementConfigurationDetails,
        InstanceConfigurationLaunchInstanceDetails,
    )
    from oci.object_storage.models import CreateBucketDetails

    names = sorted(module("output"))
    with LocalCloud(tmp_path / "cloud") as cloud:
        cm = cloud.client(oci.core.ComputeManagementClient)
        configuration = cm.create_instance_configuration(CreateInstanceConfigurationDetails(
            compartment_id=cloud.compartment_id, display_name="api-v1",
            instance_details=ComputeInstanceDetails(
                launch_details=InstanceConfigurationLaunchInstanceDetails(
                    compartment_id=cloud.compartment_id, metadata={"PORT": "8000"})))).data
        pool = cm.create_instance_pool(CreateInstancePoolDetails(
            compartment_id=cloud.compartment_id, size=0,
            instance_configuration_id=configuration.id,
            placement_configurations=[CreateInstancePoolPlacementConfigurationDetails(
                availability_domain="local:AD-1", primary_subnet_id=cloud.subnet_id)])).data
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        storage.create_bucket(cloud.namespace, CreateBucketDetails(
            name="tfstate", compartment_id=cloud.compartment_id))
        values = {name: f"value-of-{name}" for name in names}
        values.update(instance_pool_id=pool.id, backend_port=8000)
        state = {"version": 4, "outputs": {n: {"value": v, "type": "string"}
                                           for n, v in values.items()}}
        storage.put_object(cloud.namespace, "tfstate", "triviapay/terraform.tfstate",
                           json.dumps(state).encode())
        partial = {"version": 4, "outputs": {n: {"value": v} for n, v in values.items()
                                             if n not in ("lb_id", "app_log_id")}}
        storage.put_object(cloud.namespace, "tfstate", "partial.tfstate",
                           json.dumps(partial).encode())
        storage.put_object(cloud.namespace, "tfstate", "garbled.tfstate", b"{not json")

        def step(key: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
            stem = key.replace("/", "_")
            out, summary = tmp_path / f"{stem}.out", tmp_path / f"{stem}.md"
            env = {**os.environ, **cloud.proxy_env(),
                   "OCI_CONFIG_FILE": str(cloud.config_file),
                   "STATE_BUCKET": "tfstate", "STATE_NAMESPACE": cloud.namespace,
                   "STATE_REGION": "", "STATE_KEY": key, "REQUIRED_OUTPUTS": " ".join(names),
                   "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary),
                   "DEPLOY_ENV": "staging"}
            result = subprocess.run([sys.executable, "-c", STATE_OUTPUTS], env=env,
                                    capture_output=True, text=True, timeout=120)
            return result, out, summary

        result, out, summary = step("triviapay/terraform.tfstate")
        assert result.returncode == 0, result.stderr
        assert f"namespace {cloud.namespace}" in result.stdout  # the auth check
        written = dict(line.split("=", 1) for line in out.read_text().splitlines())
        assert written["instance_pool_id"] == pool.id and written["backend_port"] == "8000"
        assert set(written) == {*names, "previous_instance_configuration_id"}
        assert written["previous_instance_configuration_id"] == configuration.id
        assert f"previous instance configuration: `{configuration.id}`" in summary.read_text()

        result, out, _ = step("partial.tfstate")
        assert result.returncode == 1 and not out.exists()
        assert re.search(r"lacks output\(s\) app_log_id, lb_id: run `terraform apply`",
                         result.stderr), result.stderr

        result, _, _ = step("garbled.tfstate")
        assert result.returncode == 1 and "is not a JSON state document" in result.stderr
        assert "Traceback" not in result.stderr

        result, _, _ = step("nothing-here.tfstate")
        assert result.returncode == 1
        assert "cannot read the Terraform state oci://tfstate@" in result.stderr
        assert "404" in result.stderr and "Traceback" not in result.stderr


def test_missing_infra_bad_target_or_foreign_file_is_refused(repo: Path) -> None:
    runner = CliRunner()
    service = repo / "services" / "hello"
    result = runner.invoke(app, ["ci", "github", str(service), "--target", "lambda"])
    assert result.exit_code == 1
    assert "--target must be oci, pool or aws, got 'lambda'" in result.output
    out = repo / ".github" / "workflows"
    out.mkdir(parents=True)
    (out / "oci-deploy.yml").write_text("name: mine\n")
    result = runner.invoke(app, ["ci", "github", str(service), "--target", "pool"])
    assert result.exit_code == 1 and "not written by fastfn" in result.output
    assert (out / "oci-deploy.yml").read_text() == "name: mine\n"
    shutil.rmtree(service / "infra")
    result = runner.invoke(app, ["ci", "github", str(service), "--target", "pool", "--force"])
    assert result.exit_code == 1 and "no Terraform in" in result.output


def test_pool_shapes_pick_the_image_platform() -> None:
    assert platform_for_pool_shape("VM.Standard.A1.Flex") == "linux/arm64"
    assert platform_for_pool_shape("BM.Standard.A1.160") == "linux/arm64"
    assert platform_for_pool_shape("VM.Standard.A2.Flex") == "linux/arm64"
    assert platform_for_pool_shape("VM.Standard.E4.Flex") == "linux/amd64"
    assert platform_for_pool_shape("VM.Standard3.Flex") == "linux/amd64"


def test_actionlint_passes(repo: Path) -> None:
    binary = actionlint()
    assert binary is not None, "actionlint is missing: run scripts/setup.sh"
    generate(repo)  # repo guard from vars.OCI_CANONICAL_REPO
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    files = sorted(str(p) for p in (repo / ".github" / "workflows").glob("*.yml"))
    assert [Path(f).name for f in files] == ["infra-ci.yml", "oci-deploy.yml"]
    result = subprocess.run([binary, "-no-color", *files], capture_output=True, text=True,
                            env=env, cwd=repo, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # actionlint would have caught a broken script: it runs shellcheck on run: steps.
    broken = Path(files[1])
    broken.write_text(broken.read_text().replace('fastfn deploy "$SERVICE_DIR"',
                                                 "fastfn deploy $SERVICE_DIR", 1))
    result = subprocess.run([binary, "-no-color", str(broken)], capture_output=True,
                            text=True, env=env, cwd=repo, timeout=60)
    assert result.returncode == 1 and "SC2086" in result.stdout
