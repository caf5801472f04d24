"""`fastfn plan / deploy / drift / rollback / destroy` as a user runs them, against a
local cloud (the cloud runs in this process; the commands find it by its state dir)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from oci.functions.models import UpdateFunctionDetails
from typer.testing import CliRunner

from fastfn.cli import app
from fastfn.localcloud.oci import LocalCloud

from support.deploy import set_manifest, set_version, work_requests

CANARY = "canary-s3cr3t-91c2"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_deploy_then_plan_shows_nothing_to_do(cloud: LocalCloud, cloud_state: Path,
                                              service_dir: Path) -> None:
    where = [str(service_dir), "--stage", "dev", "--cloud-state", str(cloud_state)]
    code, out = run("plan", *where)
    assert code == 0, out
    assert "create_application" in out and "create_function" in out
    # Planning is read-only: no call made, no image pushed.
    assert work_requests(cloud) == []
    assert cloud.images.resolve("local.ocir.io/fastfn/hello:dev") is None

    code, out = run("deploy", *where, "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["mutating_calls"] == 2

    code, out = run("plan", *where)
    assert (code, "nothing to do" in out) == (0, True), out
    code, out = run("plan", *where, "--json")
    assert json.loads(out)["mutating_calls"] == 0
    code, out = run("drift", *where, "--exit-code")
    assert (code, "no drift" in out) == (0, True), out

    set_version(service_dir, "2")
    code, out = run("deploy", *where, "--image-only", "--json")
    assert json.loads(out)["mutating_calls"] == 1, out
    code, out = run("rollback", *where, "--json")
    assert (code, json.loads(out)["mutating_calls"]) == (0, 1), out
    code, out = run("destroy", *where, "--yes")
    assert code == 0 and "delete_function" in out, out
    assert [w.operation_type for w in work_requests(cloud)] == [
        "CREATE_APPLICATION", "CREATE_FUNCTION", "UPDATE_FUNCTION", "UPDATE_FUNCTION",
        "DELETE_FUNCTION", "DELETE_APPLICATION"]


def test_secrets_never_appear_in_plan_output_or_recorded_state(
        cloud: LocalCloud, cloud_state: Path, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    # The manifest names the secret by reference (env:HELLO_DATABASE_URL); its value is
    # in this environment, where a careless tool would pick it up.
    env = {"HELLO_DATABASE_URL": CANARY}
    where = [str(service_dir), "--stage", "dev", "--cloud-state", str(cloud_state)]
    outputs = [run("plan", *where, env=env)[1], run("plan", *where, "--json", env=env)[1]]
    code, out = run("deploy", *where, "--json", env=env)
    assert code == 0, out
    outputs.append(out)
    fn_id = json.loads(out)["ids"]["function"]
    live = functions.get_function(fn_id).data.config
    assert live["DATABASE_URL"] == "env:HELLO_DATABASE_URL"  # the reference, not the value
    # A value pasted into the console behind fastfn's back is not echoed by drift either.
    functions.update_function(fn_id, UpdateFunctionDetails(config={**live, "PW": CANARY}))
    outputs += [run("drift", *where, env=env)[1], run("drift", *where, "--json", env=env)[1],
                run("plan", *where, env=env)[1], run("deploy", *where, env=env)[1]]
    recorded = [p.read_text() for p in (service_dir / ".fastfn").rglob("*") if p.is_file()]
    assert recorded and outputs
    assert "PW" in outputs[3]  # the drift is reported...
    for text in outputs + recorded:
        assert CANARY not in text  # ...never the value


def test_limits_are_checked_before_any_call(cloud: LocalCloud, cloud_state: Path,
                                            service_dir: Path) -> None:
    set_manifest(service_dir, "memory: 128", "memory: 100")
    code, out = run("deploy", str(service_dir), "--cloud-state", str(cloud_state))
    assert code == 1
    assert "memory" in out and "must be one of" in out
    set_manifest(service_dir, "memory: 100", "memory: 128")
    set_manifest(service_dir, "config: {GREETING: hi}", "config: {BIG: " + "x" * 5000 + "}")
    code, out = run("deploy", str(service_dir), "--cloud-state", str(cloud_state))
    assert code == 1 and "4096" in out, out
    assert work_requests(cloud) == []


def test_image_only_refusal_prints_the_diff(cloud: LocalCloud, cloud_state: Path,
                                            service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    where = [str(service_dir), "--stage", "dev", "--cloud-state", str(cloud_state)]
    fn_id = json.loads(run("deploy", *where, "--json")[1])["ids"]["function"]
    functions.update_function(fn_id, UpdateFunctionDetails(timeout_in_seconds=120))
    set_version(service_dir, "2")
    code, out = run("deploy", *where, "--image-only")
    assert code == 1
    assert "timeout" in out and "120" in out and "drifted" in out
    code, out = run("drift", *where, "--exit-code")
    assert code == 2 and "timeout" in out
    code, out = run("deploy", *where, "--image-only", "--force", "--json")
    assert json.loads(out)["mutating_calls"] == 1


def test_no_running_cloud_is_a_clear_error(tmp_path: Path, service_dir: Path) -> None:
    code, out = run("plan", str(service_dir), "--cloud-state", str(tmp_path / "none"))
    assert code == 1
    assert "no local cloud is running" in out and "fastfn cloud up" in out
    # A cloud that was killed leaves its endpoint file behind: a clear error, at once.
    stale = tmp_path / "stale"
    assert run("cloud", "config", "--state-dir", str(stale))[0] == 0
    (stale / "run").mkdir()
    (stale / "run" / "endpoint.json").write_text('{"endpoint": "http://127.0.0.1:9"}')
    code, out = run("plan", str(service_dir), "--cloud-state", str(stale))
    assert code == 1 and "does not answer" in out and "fastfn cloud up" in out


# The OCI Functions examples (the pool example deploys to a Terraform-made pool: tests/deploy/pool).
EXAMPLES = sorted(p.parent for p in (Path(__file__).resolve().parents[2] / "examples")
                  .glob("*/fastfn.yaml") if "\ntarget: pool" not in p.read_text())


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_examples_deploy_and_then_plan_nothing(cloud: LocalCloud, cloud_state: Path,
                                                   tmp_path: Path, example: Path) -> None:
    service = tmp_path / example.name
    shutil.copytree(example, service, ignore=shutil.ignore_patterns("__pycache__", ".fastfn"))
    # On OCI whatever the manifest's target (github-digest's is aws): the same app.
    where = ["--cloud-state", str(cloud_state), "--target", "oci"]
    code, out = run("deploy", str(service), *where, "--json")
    assert code == 0, out
    assert json.loads(out)["mutating_calls"] == 2
    code, out = run("plan", str(service), *where, "--json")
    assert (code, json.loads(out)["calls"]) == (0, []), out


def test_target_options_are_checked_before_anything_is_called(service_dir: Path,
                                                             tmp_path: Path) -> None:
    code, out = run("plan", str(service_dir), "--target", "gcp")
    assert code == 1 and "--target: unknown target 'gcp'" in out
    code, out = run("deploy", str(service_dir), "--set", "novalue")
    assert code == 1 and "--set must look like KEY=VALUE" in out
    # every deploy command takes the same target options (declared once)
    for command in ("plan", "deploy", "drift", "rollback", "promote", "destroy"):
        code, out = run(command, "--help")
        assert code == 0 and "--cloud-state" in out and "--target" in out, command
    code, out = run("plan", str(service_dir), "--cloud-state", str(tmp_path / "none"))
    assert code == 1 and "no local cloud is running" in out


def test_canary_is_refused_on_oci_functions(cloud: LocalCloud, cloud_state: Path,
                                            service_dir: Path) -> None:
    code, out = run("plan", str(service_dir), "--stage", "dev", "--cloud-state",
                    str(cloud_state), "--canary", "10")
    assert code == 1 and "no traffic splitting" in out
