"""`fastfn deploy / rollback --target pool` as a user runs them against the local cloud:
inputs from the Terraform state object, a rolling update under constant load through the
local load balancer, one-step rollback, and refusals before any change."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import oci
import pytest
import yaml
from typer.testing import CliRunner

from fastfn.cli import app
from fastfn.deploy.targets.pool import local_pool_target
from fastfn.deploy.targets.pool.local import LocalStack, provision_local_stack, write_state
from fastfn.deploy.targets.pool.outputs import OUTPUT_NAMES
from fastfn.localcloud.oci import LocalCloud
from fastfn.manifest import load

from support.load import Load
from support.pools import free_port

pytestmark = pytest.mark.slow

SERVICE = Path(__file__).parent / "service"


def run(*args: str) -> tuple[int, str]:
    """Exit code and output; with --json, stdout alone (the rollout reports on stderr)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout if "--json" in args else result.output


def manifest(port: int, **pool: object) -> dict[str, object]:
    return {"name": "api", "app": "main:app", "target": "pool",
            "config": {"APP_MODE": "test"},
            "pool": {"port": port, "max_wait_seconds": 60,
                     "backend_drain_timeout_seconds": 1, "lb_wait_timeout_seconds": 60,
                     "drain_delay_seconds": 0.3, **pool}}


@pytest.fixture
def backend_port() -> int:
    return free_port()


@pytest.fixture
def pool_service(tmp_path: Path, backend_port: int) -> Path:
    target = tmp_path / "api"
    shutil.copytree(SERVICE, target)
    (target / "fastfn.yaml").write_text(yaml.safe_dump(manifest(backend_port)))
    return target


@pytest.fixture
def stack(cloud: LocalCloud, cloud_state: Path, pool_service: Path,
          backend_port: int) -> LocalStack:
    target = local_pool_target(cloud_state)
    desired = target.desired(load(pool_service), pool_service, None)
    made = provision_local_stack(cloud_state, pool_service, "main:app", service="api",
                                 listen_port=free_port(), backend_port=backend_port,
                                 size=2, health_interval_ms=200, instance=desired.instance)
    deadline = time.monotonic() + 60
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient)
    while lbc.get_backend_set_health(made.outputs.lb_id, "api-backend").data.status != "OK":
        assert time.monotonic() < deadline, "the local stack never became healthy"
        time.sleep(0.1)
    return made


def listener_port(stack: LocalStack) -> int:
    return int(stack.listener_url.rsplit(":", 1)[1])


def configurations(cloud: LocalCloud) -> int:
    cm = cloud.client(oci.core.ComputeManagementClient)
    return len(cm.list_instance_configurations(cloud.compartment_id).data)


def test_deploy_and_rollback_under_load(cloud: LocalCloud, cloud_state: Path,
                                        pool_service: Path, stack: LocalStack) -> None:
    where = [str(pool_service), "--cloud-state", str(cloud_state)]
    # The pool already runs this version: adopting it changes nothing.
    code, out = run("deploy", *where, "--json")
    assert code == 0, out
    assert json.loads(out)["mutating_calls"] == 0
    first_configuration = json.loads(out)["ids"]["instance_configuration"]

    (pool_service / "VERSION").write_text("v2\n")
    code, out = run("plan", *where, "--json")
    assert code == 0, out
    operations = [c["operation"] for c in json.loads(out)["calls"]]
    assert operations[:4] == ["push_image", "create_instance_configuration",
                              "update_instance_pool", "wait_backends_healthy"]
    assert operations.count("drain_backend") == operations.count("detach_instance") == 2
    with Load(listener_port(stack)) as load_v2:
        code, out = run("deploy", *where, "--set",
                        f"healthcheck_url={stack.listener_url}/health?probe=1")
    assert code == 0, out
    assert f"smoke test {stack.listener_url}/health?probe=1: 200" in out
    assert load_v2.failed == [] and len(load_v2.answers) > 50
    assert {a.version for a in load_v2.answers} == {"v1", "v2"}
    assert f"previous instance configuration {first_configuration}" in out
    assert out.count(" vnic ocid1.vnic.") >= 2 and " subnet ocid1." in out

    with Load(listener_port(stack)) as load_back:
        code, out = run("rollback", *where, "--json")
    assert code == 0, out
    assert json.loads(out)["refs"]["instance_configuration"] == first_configuration
    assert load_back.failed == []
    cm = cloud.client(oci.core.ComputeManagementClient)
    pool = cm.get_instance_pool(stack.outputs.instance_pool_id).data
    assert pool.instance_configuration_id == first_configuration and pool.size == 2
    with Load(listener_port(stack), clients=1) as after:
        time.sleep(0.5)
    assert {a.version for a in after.answers} == {"v1"}


def test_port_mismatch_is_refused_before_any_change(cloud: LocalCloud, cloud_state: Path,
                                                    pool_service: Path,
                                                    stack: LocalStack) -> None:
    (pool_service / "VERSION").write_text("v2\n")
    before = configurations(cloud)
    code, out = run("deploy", str(pool_service), "--cloud-state", str(cloud_state),
                    "--set", "port=1234")
    assert code == 1
    assert "port mismatch" in out and "pool.port (the container port) is 1234" in out
    assert f"backend_port is {stack.outputs.backend_port}" in out
    assert configurations(cloud) == before


def test_missing_outputs_fail_fast_naming_them(cloud: LocalCloud, cloud_state: Path,
                                               pool_service: Path, stack: LocalStack) -> None:
    target = local_pool_target(cloud_state)
    values = dict(stack.outputs.values)
    del values["lb_id"], values["ocir_repo_url"]
    write_state(target.clients, cloud.namespace, cloud.compartment_id, stack.state_key,
                values)
    before = configurations(cloud)
    (pool_service / "VERSION").write_text("v2\n")
    code, out = run("deploy", str(pool_service), "--cloud-state", str(cloud_state))
    assert code == 1
    assert "lb_id, ocir_repo_url" in " ".join(out.split()) and "terraform apply" in out
    assert configurations(cloud) == before
    assert len(OUTPUT_NAMES) == 21
