"""The aws deploy target end to end on the embedded AWS: mutating-call counts, rollback,
canary (weights read back, promote, automatic abort on an alarm), alarms, the function
URL on LIVE, stage isolation."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from fastfn.deploy import deployer
from fastfn.deploy.plan import PlanOptions
from fastfn.deploy.targets.aws.apply import CanaryAborted
from fastfn.deploy.targets.aws.local import embedded_target
from fastfn.manifest import load

pytestmark = pytest.mark.slow  # each test deploys at least once (~5-20 s under load)
BUCKET = "fastfn-123456789012-us-east-1"
# The bucket is made when the stage's deploy lease is first taken (lease.py), before the plan.
FIRST = ["put_object", "publish_layer_version", "put_object", "create_role",
         "put_role_policy", "create_log_group", "put_retention_policy", "create_function",
         "publish_version", "create_alias", "create_function_url_config", "add_permission",
         "put_metric_alarm", "put_metric_alarm"]


def _target(aws, **settings: str):
    return embedded_target(aws.state_dir, settings)


def _deploy(aws, service: Path, stage: str | None = "dev", canary: int | None = None,
            **settings: str):
    return deployer.deploy(load(service), service, stage, _target(aws, **settings),
                           options=PlanOptions(canary_percent=canary))


def _mutating(outcome) -> list[str]:
    return [step.operation for step in outcome.plan.calls if step.mutating]


def _get(url: str, path: str) -> httpx.Response:
    return httpx.get(url + path.lstrip("/"), timeout=60)


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_first_noop_code_only_config_only(aws, service: Path) -> None:
    first = _deploy(aws, service)
    got = _mutating(first)
    assert got == FIRST
    assert first.execution.mutating_calls == len(got)
    url = first.execution.ids["url"]
    assert _get(url, "/info/version").json() == {"version": "1.0", "code": "one"}

    noop = _deploy(aws, service)
    assert noop.plan.calls == [] and noop.execution.mutating_calls == 0

    _edit(service / "main.py", 'CODE_TAG = "one"', 'CODE_TAG = "two"')
    code = _deploy(aws, service)
    assert _mutating(code) == ["put_object", "update_function_code", "publish_version",
                               "update_alias"]
    assert _get(url, "/info/version").json()["code"] == "two"

    _edit(service / "fastfn.yaml", 'SERVICE_VERSION: "1.0"', 'SERVICE_VERSION: "1.1"')
    config = _deploy(aws, service)
    assert _mutating(config) == ["update_function_configuration", "publish_version",
                                 "update_alias"]
    assert _get(url, "/info/version").json() == {"version": "1.1", "code": "two"}
    assert _deploy(aws, service).execution.mutating_calls == 0


def test_rollback_moves_live_back_in_one_call(aws, service: Path) -> None:
    first = _deploy(aws, service)
    url = first.execution.ids["url"]
    _edit(service / "main.py", 'CODE_TAG = "one"', 'CODE_TAG = "two"')
    _deploy(aws, service)
    lam = aws.client("lambda")
    name = f"{service.name}-dev"
    assert lam.get_alias(FunctionName=name, Name="LIVE")["FunctionVersion"] == "2"

    back = deployer.rollback(load(service), service, "dev", _target(aws))
    assert _mutating(back) == ["update_alias"]
    assert lam.get_alias(FunctionName=name, Name="LIVE")["FunctionVersion"] == "1"
    assert _get(url, "/info/version").json()["code"] == "one"
    # Deploying the manifest again rolls forward to the version that matches it.
    again = _deploy(aws, service)
    assert _mutating(again) == ["update_alias"]
    assert lam.get_alias(FunctionName=name, Name="LIVE")["FunctionVersion"] == "2"


def test_canary_weights_then_promote(aws, service: Path) -> None:
    _deploy(aws, service)
    _edit(service / "main.py", 'CODE_TAG = "one"', 'CODE_TAG = "two"')
    canary = _deploy(aws, service, canary=10, canary_watch="0")
    assert _mutating(canary) == ["put_object", "update_function_code", "publish_version",
                                 "update_alias"]
    assert [s.operation for s in canary.plan.calls][-1] == "wait_alarms_quiet"
    alias = aws.client("lambda").get_alias(FunctionName=f"{service.name}-dev", Name="LIVE")
    assert alias["FunctionVersion"] == "1"
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}

    url = canary.execution.ids["url"]
    codes = [_get(url, "/info/version").json()["code"] for _ in range(60)]
    assert "one" in codes and "two" in codes  # both versions serve (0.9**60, 0.1**60: never)
    assert codes.count("two") < 30

    promoted = deployer.promote(load(service), service, "dev", _target(aws))
    assert _mutating(promoted) == ["update_alias"]
    alias = aws.client("lambda").get_alias(FunctionName=f"{service.name}-dev", Name="LIVE")
    assert alias["FunctionVersion"] == "2"
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    with pytest.raises(deployer.PlanRefused, match="no canary"):
        deployer.promote(load(service), service, "dev", _target(aws))


def test_canary_needs_a_live_version(aws, service: Path) -> None:
    with pytest.raises(deployer.PlanRefused, match="deploy it once without --canary"):
        _deploy(aws, service, canary=10)


def test_canary_aborted_when_an_alarm_fires(aws, service: Path) -> None:
    _deploy(aws, service)
    _edit(service / "main.py", 'CODE_TAG = "one"', 'CODE_TAG = "bad"')
    name = f"{service.name}-dev"
    lam, watch = aws.client("lambda"), aws.client("cloudwatch")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            _deploy(aws, service, canary=25, canary_watch="60")
        except BaseException as exc:
            failure.append(exc)

    deploying = threading.Thread(target=run)
    deploying.start()
    deadline = time.monotonic() + 60
    while not lam.get_alias(FunctionName=name, Name="LIVE").get("RoutingConfig", {}).get(
            "AdditionalVersionWeights"):
        assert time.monotonic() < deadline and deploying.is_alive(), failure
        time.sleep(0.1)
    watch.set_alarm_state(AlarmName=f"{name}-errors", StateValue="ALARM",
                          StateReason="errors above threshold")
    deploying.join(timeout=60)
    assert not deploying.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], CanaryAborted)
    assert f"{name}-errors in ALARM" in str(failure[0])
    alias = lam.get_alias(FunctionName=name, Name="LIVE")
    assert alias["FunctionVersion"] == "1"
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")


def test_alarms_with_seed_defaults_and_stage_overrides(aws, service: Path) -> None:
    _edit(service / "fastfn.yaml", "  prod:\n    aws:\n      memory: 512\n",
          "  prod:\n    aws:\n      memory: 512\n      alarms: {errors: {threshold: 3}}\n")
    _deploy(aws, service, "dev")
    _deploy(aws, service, "prod")
    watch = aws.client("cloudwatch")
    dev = {a["AlarmName"]: a for a in watch.describe_alarms(
        AlarmNamePrefix=f"{service.name}-dev-")["MetricAlarms"]}
    errors, duration = dev[f"{service.name}-dev-errors"], dev[f"{service.name}-dev-duration"]
    assert (errors["MetricName"], errors["Statistic"], errors["Threshold"], errors["Period"],
            errors["EvaluationPeriods"]) == ("Errors", "Sum", 10.0, 300, 1)
    assert (duration["MetricName"], duration["Statistic"], duration["Threshold"],
            duration["Period"], duration["EvaluationPeriods"]) == (
        "Duration", "Average", 5000.0, 300, 2)
    assert {"Name": "FunctionName", "Value": f"{service.name}-dev"} in errors["Dimensions"]
    prod = watch.describe_alarms(AlarmNames=[f"{service.name}-prod-errors"])["MetricAlarms"]
    assert prod[0]["Threshold"] == 3.0


def test_url_on_live_with_cors_from_the_manifest(aws, service: Path) -> None:
    out = _deploy(aws, service)
    lam = aws.client("lambda")
    config = lam.get_function_url_config(FunctionName=f"{service.name}-dev", Qualifier="LIVE")
    assert config["FunctionArn"].endswith(":LIVE")
    assert config["Cors"]["AllowOrigins"] == ["https://app.example"]
    url = out.execution.ids["url"]
    got = httpx.get(url + "info/version", headers={"Origin": "https://app.example"},
                    timeout=60)
    assert got.headers["access-control-allow-origin"] == "https://app.example"
    assert _get(url, "/invalid-path").status_code == 404
    _edit(service / "fastfn.yaml", 'allow_methods: [GET]', 'allow_methods: [GET, POST]')
    update = _deploy(aws, service)
    assert _mutating(update) == ["update_function_url_config"]


def test_stage_isolation_and_least_privilege(aws, service: Path) -> None:
    _deploy(aws, service, "dev")
    prod = _deploy(aws, service, "prod")
    name = service.name
    lam, iam = aws.client("lambda"), aws.client("iam")
    assert lam.get_function_configuration(FunctionName=f"{name}-prod")["MemorySize"] == 512
    assert lam.get_function_configuration(FunctionName=f"{name}-dev")["MemorySize"] == 256
    policy = iam.get_role_policy(RoleName=f"fastfn-{name}-dev",
                                 PolicyName="fastfn-least-privilege")["PolicyDocument"]
    text = json.dumps(policy)
    assert f"parameter/{name}/dev/api-key" in text and f"/{name}/prod/" not in text
    assert f"{name}/dev/*" in text and f"{name}/prod/" not in text
    assert f"log-group:/aws/lambda/{name}-dev" in text and "-prod" not in text
    assert '"*"' not in text  # no wildcard resource
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(
        Bucket=BUCKET, Prefix=f"{name}/")["Contents"]]
    assert {k.split("/")[1] for k in keys} == {"dev", "prod"}
    assert lam.get_function_configuration(
        FunctionName=f"{name}-dev")["Environment"]["Variables"]["API_KEY"] == \
        f"ssm:/{name}/dev/api-key"

    deployer.destroy(load(service), service, "dev", _target(aws))
    assert _get(prod.execution.ids["url"], "/info/version").status_code == 200
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert f"{name}-prod" in names and f"{name}-dev" not in names
    assert not [k for k in (o["Key"] for o in aws.client("s3").list_objects_v2(
        Bucket=BUCKET, Prefix=f"{name}/dev/").get("Contents") or ())]
    assert _deploy(aws, service, "prod").execution.mutating_calls == 0


def test_secret_resolved_inside_the_function(aws, service: Path) -> None:
    out = _deploy(aws, service)
    assert _get(out.execution.ids["url"], "/key-length").json() == {
        "length": len(f"dev-key-{service.name}")}


def test_a_held_lease_refuses_a_second_deploy(aws, service: Path) -> None:
    import shutil

    from fastfn.deploy.errors import DeployLocked
    from fastfn.deploy.lease import cloud_lease

    target = _target(aws)
    desired = target.desired(load(service), service, "dev")
    other = service.parent / "other-checkout"  # another machine: no shared file lock
    shutil.copytree(service, other)
    with (cloud_lease(target.lease_store(), desired.service, "dev"),
          pytest.raises(DeployLocked, match=r"s3://.*_fastfn-locks/")):
        _deploy(aws, other)
    assert _deploy(aws, other).execution.mutating_calls >= 14  # released: it deploys
