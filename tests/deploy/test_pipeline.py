"""The deploy pipeline against a real local OCI cloud, through the real oci SDK.

Mutating calls are counted twice: by fastfn's executor and, independently, by the work
requests the cloud records for every create/update/delete.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import oci
import pytest
from oci.functions.models import UpdateApplicationDetails, UpdateFunctionDetails

from fastfn.deploy import deployer, state
from fastfn.deploy.executor import PlanRefused
from fastfn.deploy.lock import DeployLocked, lock_path, stage_lock
from fastfn.deploy.plan import PlanOptions
from fastfn.deploy.targets.oci import OciFunctionsTarget
from fastfn.localcloud.oci import LocalCloud
from fastfn.manifest import load

from support.deploy import invoke, operations, set_manifest, set_version, work_requests


def deploy(service_dir: Path, target: OciFunctionsTarget, stage: str | None = "dev",
           **kw: object) -> deployer.Outcome:
    return deployer.deploy(load(service_dir), service_dir, stage, target, **kw)  # type: ignore[arg-type]


def test_first_deploy_creates_application_and_function_that_answers(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    outcome = deploy(service_dir, target)

    assert outcome.execution.mutating_calls == 2
    assert operations(cloud) == ["CREATE_APPLICATION", "CREATE_FUNCTION"]
    app = functions.get_application(outcome.execution.ids["application"]).data
    fn = functions.get_function(outcome.execution.ids["function"]).data
    assert (app.display_name, fn.display_name) == ("hello-dev", "hello-dev")
    assert app.shape == "GENERIC_X86" and app.subnet_ids == [cloud.subnet_id]
    assert (fn.memory_in_mbs, fn.timeout_in_seconds) == (128, 30)
    assert fn.config["FASTFN_DEFAULT_ROUTE"] == "POST /hello"
    assert fn.freeform_tags == {"fastfn-service": "hello", "fastfn-stage": "dev"}
    assert invoke(cloud, fn.id) == {"version": "1", "greeting": "hi"}

    recorded = state.load(service_dir, "dev")
    assert recorded is not None
    assert recorded.resources == {"application": app.id, "function": fn.id}
    assert recorded.history[-1].resources == recorded.resources
    assert recorded.digest == fn.source_details.image_digest
    assert [h.digest for h in recorded.history] == [recorded.digest]


def test_redeploy_with_nothing_changed_makes_no_mutating_call(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path) -> None:
    deploy(service_dir, target)
    before = len(work_requests(cloud))

    again = deploy(service_dir, target)

    assert again.plan.calls == [] and again.plan.changes == []
    assert again.execution.mutating_calls == 0
    assert len(work_requests(cloud)) == before == 2


def test_image_only_update_makes_exactly_one_call(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    first = deploy(service_dir, target)
    set_version(service_dir, "2")

    update = deploy(service_dir, target, mode="image-only")

    assert update.execution.mutating_calls == 1
    assert [c.operation for c in update.plan.calls] == ["push_image", "update_function"]
    assert operations(cloud)[2:] == ["UPDATE_FUNCTION"]
    fn_id = first.execution.ids["function"]
    assert invoke(cloud, fn_id)["version"] == "2"
    live = functions.get_function(fn_id).data.source_details.image_digest
    assert live == state.load(service_dir, "dev").digest != first.plan.artifact.digest  # type: ignore[union-attr]
    # A full deploy of a code change is one call as well: the image is all that differs.
    set_version(service_dir, "3")
    assert deploy(service_dir, target).execution.mutating_calls == 1


def test_drift_shows_a_change_made_behind_fastfns_back(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    fn_id = deploy(service_dir, target).execution.ids["function"]
    live = functions.get_function(fn_id).data
    functions.update_function(fn_id, UpdateFunctionDetails(
        memory_in_mbs=512, config={**live.config, "DB_PASSWORD": "console-canary-7f3a"}))
    manifest = load(service_dir)

    _, changes, deployed = deployer.drift_of(manifest, service_dir, "dev", target)

    assert deployed
    by_key = {c.key: c for c in changes}
    assert set(by_key) == {"memory", "config.DB_PASSWORD"}
    assert (by_key["memory"].live, by_key["memory"].desired) == (512, 128)
    # A value fastfn did not write may be a password: shown by fingerprint only.
    assert by_key["config.DB_PASSWORD"].live == "<hidden: not written by fastfn>"
    assert "console-canary-7f3a" not in json.dumps([c.to_json() for c in changes])

    # --image-only refuses, with the diff, and makes no call...
    set_version(service_dir, "2")
    calls = len(work_requests(cloud))
    with pytest.raises(PlanRefused) as refused:
        deploy(service_dir, target, mode="image-only")
    assert "drifted" in str(refused.value)
    assert {c.key for c in refused.value.plan.changes} == {"memory", "config.DB_PASSWORD"}
    assert len(work_requests(cloud)) == calls
    # ...unless forced: then only the image changes and the drift stays.
    forced = deploy(service_dir, target, mode="image-only", options=PlanOptions(force=True))
    assert forced.execution.mutating_calls == 1
    assert functions.get_function(fn_id).data.memory_in_mbs == 512
    # A full deploy puts the manifest's settings back.
    fixed = deploy(service_dir, target)
    assert fixed.execution.mutating_calls == 1
    assert deployer.drift_of(manifest, service_dir, "dev", target)[1] == []
    assert "DB_PASSWORD" not in functions.get_function(fn_id).data.config


def test_application_config_added_in_the_console_is_drift(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    app_id = deploy(service_dir, target).execution.ids["application"]
    functions.update_application(app_id, UpdateApplicationDetails(config={"OCI_USER": "x"}))
    changes = deployer.drift_of(load(service_dir), service_dir, "dev", target)[1]
    assert [(c.resource, c.key) for c in changes] == [("application", "config.OCI_USER")]
    assert deploy(service_dir, target).execution.mutating_calls == 1
    assert functions.get_application(app_id).data.config == {}


def test_rollback_restores_the_previous_digest_in_one_call(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    first = deploy(service_dir, target)
    v1 = first.plan.artifact.digest  # type: ignore[union-attr]
    set_version(service_dir, "2")
    deploy(service_dir, target)
    fn_id = first.execution.ids["function"]
    assert invoke(cloud, fn_id)["version"] == "2"
    calls = len(work_requests(cloud))

    back = deployer.rollback(load(service_dir), service_dir, "dev", target)

    assert back.execution.mutating_calls == 1
    assert len(work_requests(cloud)) == calls + 1
    assert functions.get_function(fn_id).data.source_details.image_digest == v1
    assert invoke(cloud, fn_id)["version"] == "1"
    assert state.load(service_dir, "dev").digest == v1  # type: ignore[union-attr]


def test_rollback_without_history_is_refused(target: OciFunctionsTarget,
                                             service_dir: Path) -> None:
    deploy(service_dir, target)
    with pytest.raises(deployer.RollbackError, match="no earlier deployed artifact"):
        deployer.rollback(load(service_dir), service_dir, "dev", target)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from fastfn.deploy.lock import stage_lock
with stage_lock(Path(sys.argv[1]), "dev"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_concurrent_deploy_is_refused(cloud: LocalCloud, target: OciFunctionsTarget,
                                        service_dir: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(service_dir)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "locked"
        with pytest.raises(DeployLocked) as locked:
            deploy(service_dir, target)
        assert f"pid {other.pid}" in str(locked.value)
        assert "is running" in str(locked.value)
        assert work_requests(cloud) == []
        # Another stage is not locked by it.
        assert deploy(service_dir, target, stage="prod").execution.mutating_calls == 2
    finally:
        other.kill()
        other.wait()
    # The holder died without releasing: its lock is stale and taken over.
    assert lock_path(service_dir, "dev").exists()
    assert deploy(service_dir, target).execution.mutating_calls == 2
    assert not lock_path(service_dir, "dev").exists()


def test_the_lock_is_held_during_a_deploy(service_dir: Path) -> None:
    with stage_lock(service_dir, "dev"), pytest.raises(DeployLocked), \
            stage_lock(service_dir, "dev"):
        pass


def test_an_interrupted_deploy_finishes_when_run_again(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path) -> None:
    class Interrupted(Exception):
        pass

    def stop_before_function(call) -> None:  # type: ignore[no-untyped-def]
        if call.operation == "create_function":
            raise Interrupted

    with pytest.raises(Interrupted):
        deploy(service_dir, target, on_call=stop_before_function)
    assert operations(cloud) == ["CREATE_APPLICATION"]
    assert not lock_path(service_dir, "dev").exists()

    finished = deploy(service_dir, target)
    assert [c.operation for c in finished.plan.api_calls] == ["create_function"]
    assert invoke(cloud, finished.execution.ids["function"])["version"] == "1"


def test_a_shape_change_is_refused_with_an_explanation(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path) -> None:
    deploy(service_dir, target)
    set_manifest(service_dir, "app: main:app", "app: main:app\nshape: GENERIC_ARM")

    the_plan = deployer.make_plan(load(service_dir), service_dir, "dev", target)

    assert the_plan.calls == []
    assert any("shape is 'GENERIC_X86'" in r and "fixes shape" in r and "fastfn destroy" in r
               for r in the_plan.refusals)
    with pytest.raises(PlanRefused):
        deploy(service_dir, target)
    assert len(work_requests(cloud)) == 2


def test_stages_are_isolated(cloud: LocalCloud, target: OciFunctionsTarget,
                             service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    dev = deploy(service_dir, target, stage="dev").execution.ids
    prod = deploy(service_dir, target, stage="prod").execution.ids
    assert dev["application"] != prod["application"] and dev["function"] != prod["function"]
    assert functions.get_function(prod["function"]).data.memory_in_mbs == 256
    prod_updated = functions.get_function(prod["function"]).data.time_updated

    set_version(service_dir, "2")
    set_manifest(service_dir, "timeout: 30", "timeout: 45")
    deploy(service_dir, target, stage="dev")
    deployer.destroy(load(service_dir), service_dir, "dev", target)

    touched = {r.identifier for w in work_requests(cloud)[4:] for r in w.resources}
    assert touched == {dev["application"], dev["function"]}
    assert functions.get_function(prod["function"]).data.time_updated == prod_updated
    assert invoke(cloud, prod["function"])["version"] == "1"
    assert state.load(service_dir, "prod") is not None
    assert state.load(service_dir, "dev") is None


def test_a_stage_never_adopts_another_stages_resources(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    app_id = deploy(service_dir, target).execution.ids["application"]
    functions.update_application(app_id, UpdateApplicationDetails(
        freeform_tags={"fastfn-service": "hello", "fastfn-stage": "prod"}))
    set_version(service_dir, "2")
    with pytest.raises(PlanRefused, match="belongs to stage 'prod'"):
        deploy(service_dir, target)


def test_destroy_deletes_function_and_application(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    ids = deploy(service_dir, target).execution.ids
    gone = deployer.destroy(load(service_dir), service_dir, "dev", target)
    assert gone.execution.mutating_calls == 2
    assert operations(cloud)[2:] == ["DELETE_FUNCTION", "DELETE_APPLICATION"]
    with pytest.raises(oci.exceptions.ServiceError):
        functions.get_application(ids["application"],
                                  retry_strategy=oci.retry.NoneRetryStrategy())
    assert deployer.destroy(load(service_dir), service_dir, "dev",
                            target).execution.mutating_calls == 0


def test_the_function_runs_the_digest_it_was_deployed_with(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path) -> None:
    # Editing the code without deploying changes nothing live: the function is pinned.
    fn_id = deploy(service_dir, target).execution.ids["function"]
    set_version(service_dir, "2")
    time.sleep(0.01)
    assert invoke(cloud, fn_id)["version"] == "1"
    plan = deployer.make_plan(load(service_dir), service_dir, "dev", target)
    assert [c.operation for c in plan.calls] == ["push_image", "update_function"]


def test_detached_timeout_and_provisioned_concurrency(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    from fastfn.deploy.errors import LimitError
    from fastfn.deploy.executor import execute
    from fastfn.deploy.targets.oci.models import FunctionExtras, desired_service
    from fastfn.deploy.targets.oci.plan import plan

    def apply(extras: FunctionExtras) -> int:
        service = desired_service(load(service_dir), service_dir, "dev", target.settings,
                                  extras)
        the_plan = plan(service, target.builder.build(service), target.observe(service))
        return execute(the_plan, target).mutating_calls

    assert apply(FunctionExtras(detached_timeout=600, provisioned_concurrency=40)) == 2
    fn_id = target.observe(desired_service(load(service_dir), service_dir, "dev",
                                           target.settings)).function.id  # type: ignore[union-attr]
    fn = functions.get_function(fn_id).data
    assert fn.detached_mode_timeout_in_seconds == 600
    assert (fn.provisioned_concurrency_config.strategy,
            fn.provisioned_concurrency_config.count) == ("CONSTANT", 40)
    assert apply(FunctionExtras(detached_timeout=600, provisioned_concurrency=40)) == 0
    assert apply(FunctionExtras(provisioned_concurrency=0)) == 1
    assert functions.get_function(fn_id).data.provisioned_concurrency_config.strategy == "NONE"
    with pytest.raises(LimitError, match="at least 40"):
        apply(FunctionExtras(provisioned_concurrency=10))
    with pytest.raises(LimitError, match="detached timeout"):
        apply(FunctionExtras(detached_timeout=4000))
    assert len(work_requests(cloud)) == 3


def test_manifest_carries_detached_timeout_and_provisioned_concurrency(
        cloud: LocalCloud, target: OciFunctionsTarget, service_dir: Path, functions) -> None:  # type: ignore[no-untyped-def]
    from fastfn.deploy.executor import execute
    from fastfn.deploy.targets.oci.models import desired_service
    from fastfn.deploy.targets.oci.plan import plan

    manifest_file = service_dir / "fastfn.yaml"
    manifest_file.write_text(manifest_file.read_text()
                             + "detached_timeout: 900\nprovisioned_concurrency: 40\n")
    service = desired_service(load(service_dir), service_dir, "dev", target.settings)
    execute(plan(service, target.builder.build(service), target.observe(service)), target)
    fn = functions.get_function(target.observe(service).function.id).data  # type: ignore[union-attr]
    assert fn.detached_mode_timeout_in_seconds == 900
    assert fn.provisioned_concurrency_config.count == 40
