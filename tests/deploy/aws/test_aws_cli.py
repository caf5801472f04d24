"""`fastfn plan / deploy / drift / rollback / promote / destroy` for the aws target as a
user runs them, against the embedded AWS (in this process; found by its state dir)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fastfn.cli import app

pytestmark = pytest.mark.slow

CANARY = "canary-s3cr3t-aws-5d1e"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _where(aws, service: Path, stage: str = "dev") -> list[str]:
    return [str(service), "--stage", stage, "--cloud-state", str(aws.state_dir)]


def test_deploy_plan_drift_rollback_json(aws, service: Path) -> None:
    where = _where(aws, service)
    code, out = run("plan", *where, "--json")
    assert code == 0, out
    planned = json.loads(out)
    assert planned["mutating_calls"] == len([c for c in planned["calls"]
                                             if not c["operation"].startswith("wait_")])
    names = [f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]]
    assert f"{service.name}-dev" not in names  # planning changed nothing

    code, out = run("deploy", *where, "--json")
    assert code == 0, out
    deployed = json.loads(out)
    assert deployed["mutating_calls"] >= 14
    url = deployed["ids"]["url"]
    assert httpx.get(url + "info/version", timeout=30).status_code == 200

    code, out = run("plan", *where)
    assert code == 0 and "nothing to do" in out
    code, out = run("drift", *where, "--json")
    assert json.loads(out) == {"stage": "dev", "deployed": True, "drift": []}

    # A console edit: drift names it, the next deploy puts the manifest back.
    aws.client("lambda").update_function_configuration(FunctionName=f"{service.name}-dev",
                                                       MemorySize=1024)
    code, out = run("drift", *where, "--exit-code", "--json")
    assert code == 2
    assert {"resource": "function", "key": "memory", "live": 1024, "desired": 256} in \
        json.loads(out)["drift"]
    code, out = run("deploy", *where, "--json")
    assert next(c["operation"] for c in json.loads(out)["plan"]["calls"]
            if not c["operation"].startswith("wait_")) == "update_function_configuration"

    (service / "main.py").write_text((service / "main.py").read_text().replace(
        'CODE_TAG = "one"', 'CODE_TAG = "two"'))
    code, out = run("deploy", *where, "--json")
    assert code == 0, out
    code, out = run("rollback", *where, "--json")
    assert code == 0, out
    assert json.loads(out)["mutating_calls"] == 1
    assert httpx.get(url + "info/version", timeout=30).json()["code"] == "one"


def test_canary_and_promote_commands(aws, service: Path) -> None:
    where = _where(aws, service)
    assert run("deploy", *where)[0] == 0
    code, out = run("deploy", *where, "--canary", "10")
    assert code == 0 and "nothing to do" in out  # nothing new: no canary to run
    (service / "main.py").write_text((service / "main.py").read_text().replace(
        'CODE_TAG = "one"', 'CODE_TAG = "two"'))
    code, out = run("deploy", *where, "--canary", "10", "--set", "canary_watch=0", "--json")
    assert code == 0, out
    alias = aws.client("lambda").get_alias(FunctionName=f"{service.name}-dev", Name="LIVE")
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    code, out = run("promote", *where, "--json")
    assert code == 0 and json.loads(out)["mutating_calls"] == 1
    alias = aws.client("lambda").get_alias(FunctionName=f"{service.name}-dev", Name="LIVE")
    assert alias["FunctionVersion"] == "2"


def test_a_secret_value_never_leaves_ssm(aws, service: Path) -> None:
    name = service.name
    aws.client("ssm").put_parameter(Name=f"/{name}/dev/api-key", Value=CANARY,
                                    Type="SecureString", Overwrite=True)
    where = _where(aws, service)
    outputs = []
    for command in (["plan", "--json"], ["deploy", "--json"], ["plan"], ["drift"],
                    ["drift", "--json"], ["deploy"]):
        code, out = run(command[0], *where, *command[1:])
        assert code == 0, out
        outputs.append(out)
    code, out = run("deploy", *where, "--json")
    url = json.loads(out)["ids"]["url"]
    # The function did resolve it (at start-up, from SSM)...
    assert httpx.get(url + "key-length", timeout=30).json() == {"length": len(CANARY)}
    # ...and it is nowhere else.
    lam = aws.client("lambda")
    config = json.dumps([lam.get_function_configuration(FunctionName=f"{name}-dev"),
                         lam.list_versions_by_function(FunctionName=f"{name}-dev")],
                        default=str)
    state = "".join(p.read_text() for p in (service / ".fastfn").rglob("*.json"))
    logs = "".join(p.read_text(errors="replace") for p in (aws.log_dir).glob("*.log"))
    for where_found, text in [("function configuration", config), ("state", state),
                              ("logs", logs), ("command output", "".join([*outputs, out]))]:
        assert CANARY not in text, where_found
    assert f"ssm:/{name}/dev/api-key" in config  # the reference is what is configured


@pytest.mark.parametrize(("yaml_line", "message"), [
    ("aws: {memory: 64}", "aws.memory"),
    ("aws: {timeout: 1000}", "aws.timeout"),
    ("aws: {architecture: sparc}", "aws.architecture"),
    ("aws: {function_url: {cors: {allow_origins: ['ftp://x']}}}",
     "aws.function_url.cors.allow_origins"),
    ("aws: {alarms: {duration: {threshold_ms: 0}}}", "aws.alarms.duration.threshold_ms"),
    ("aws: {log_retention_days: 2}", "aws.log_retention_days"),
])
def test_bad_manifest_values_name_the_key(aws, service: Path, yaml_line: str,
                                          message: str) -> None:
    manifest = service / "fastfn.yaml"
    text = manifest.read_text()
    start = text.index("aws:\n")
    end = text.index("stages:")
    manifest.write_text(text[:start] + yaml_line + "\n" + text[end:])
    code, out = run("deploy", *_where(aws, service), "--json")
    assert code != 0
    assert message in out
    assert "Traceback" not in out


def test_unknown_set_key_and_no_cloud(aws, service: Path, tmp_path: Path) -> None:
    code, out = run("plan", *_where(aws, service), "--set", "colour=blue")
    assert code != 0 and "--set colour" in out
    code, out = run("plan", str(service), "--cloud-state", str(tmp_path / "none"))
    assert code != 0 and "fastfn cloud up --aws" in out
