"""The rolling update's steps run against a local pool of 2 behind the local load
balancer, under constant load, through the real oci SDK."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import oci
import pytest

from fastfn.deploy.targets.pool.apply import RolledBack, Rollout
from fastfn.deploy.targets.pool.local import (
    STATE_BUCKET,
    LocalPoolImages,
    LocalStack,
    find_cloud,
    local_clients,
    provision_local_stack,
)
from fastfn.deploy.targets.pool.observe import observe
from fastfn.deploy.targets.pool.outputs import read_outputs
from fastfn.deploy.targets.pool.rollout import port_refusals, rollout_steps, vnic_refusals
from fastfn.deploy.targets.pool.settings import InstanceSettings, RolloutSettings
from fastfn.localcloud.oci import LocalCloud

from support.load import Load
from support.pools import free_port, get_json

pytestmark = pytest.mark.slow

SERVICE = Path(__file__).parent / "service"
INSTANCE = InstanceSettings(drain_delay_s=0.3)
FAST = RolloutSettings(max_wait_s=60, drain_timeout_s=1.0, lb_wait_timeout_s=60,
                       poll_interval_s=0.1)


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    target = tmp_path / "api"
    shutil.copytree(SERVICE, target)
    return target


@pytest.fixture
def stack(cloud: LocalCloud, cloud_state: Path, service_dir: Path) -> LocalStack:
    return provision_local_stack(cloud_state, service_dir, "main:app", service="api",
                                 listen_port=free_port(), backend_port=free_port(),
                                 size=2, health_interval_ms=200, instance=INSTANCE)


def roll(cloud_state: Path, stack: LocalStack, service_dir: Path, version: str,
         settings: RolloutSettings = FAST, lines: list[str] | None = None,
         configuration_id: str | None = None, rollout: Rollout | None = None) -> Rollout:
    cloud = find_cloud(cloud_state)
    clients = local_clients(cloud)
    outputs = read_outputs(clients.storage, cloud.namespace, STATE_BUCKET, stack.state_key)
    (service_dir / "VERSION").write_text(version + "\n")
    images = LocalPoolImages(cloud)
    artifact = images.snapshot(outputs.text("ocir_repo_url") + ":" + version, service_dir,
                               "main:app")
    images.put(artifact, service_dir, "main:app")
    from fastfn.deploy.targets.pool.configuration import launch_details

    observed = observe(clients, outputs, None)
    assert port_refusals(outputs, observed, INSTANCE) == []
    configuration = None if configuration_id else launch_details(
        outputs, f"{artifact.image}@{artifact.digest}", "api", version, INSTANCE)
    steps = rollout_steps(outputs, observed, settings, configuration, configuration_id)
    rollout = rollout or Rollout(clients, outputs, settings,
                                 report=(lines.append if lines is not None else None))
    ids = observed.ids()
    for step in steps:
        made = rollout.apply(step, ids)
        if made is not None:
            ids[step.resource] = made
    return rollout


class ServingCount:
    """Samples, through the SDK, how many backends are healthy and not draining."""

    def __init__(self, cloud_state: Path, stack: LocalStack) -> None:
        self.lb = local_clients(find_cloud(cloud_state)).lb
        self.lb_id, self.bs = stack.outputs.lb_id, stack.outputs.backend_set_name
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            count = 0
            for backend in self.lb.list_backends(self.lb_id, self.bs).data:
                if backend.drain:
                    continue
                try:
                    status = self.lb.get_backend_health(self.lb_id, self.bs,
                                                        backend.name).data.status
                except oci.exceptions.ServiceError:  # removed meanwhile
                    continue
                count += status == "OK"
            self.samples.append(count)
            time.sleep(0.05)

    def __enter__(self) -> ServingCount:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def versions(stack: LocalStack, count: int = 8) -> set[str]:
    with Load(int(stack.listener_url.rsplit(":", 1)[1]), clients=1) as load:
        while len(load.answers) < count:
            time.sleep(0.05)
    return {a.version for a in load.answers}


def wait_healthy(cloud_state: Path, stack: LocalStack) -> None:
    clients = local_clients(find_cloud(cloud_state))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = clients.lb.get_backend_set_health(stack.outputs.lb_id,
                                                   stack.outputs.backend_set_name).data
        if health.status == "OK" and health.total_backend_count == 2:
            return
        time.sleep(0.1)
    raise AssertionError("the pool never became healthy")


def test_rolling_update_under_load_loses_nothing(cloud_state: Path, stack: LocalStack,
                                                 service_dir: Path) -> None:
    wait_healthy(cloud_state, stack)
    old = {m.id: m.display_name for m in local_clients(find_cloud(cloud_state))
           .management.list_instance_pool_instances(stack.outputs.compartment_id,
                                                    stack.outputs.instance_pool_id).data}
    lines: list[str] = []
    port = int(stack.listener_url.rsplit(":", 1)[1])
    with Load(port) as load, ServingCount(cloud_state, stack) as serving:
        time.sleep(0.5)
        rollout = roll(cloud_state, stack, service_dir, "v2", lines=lines)
        time.sleep(0.5)
    assert load.failed == [] and len(load.answers) > 100
    # Never fewer healthy, non-draining backends than the 2 before the rollout.
    assert len(serving.samples) > 20 and min(serving.samples) >= 2
    assert {a.version for a in load.answers} == {"v1", "v2"}
    # Nothing reached an old backend after its drain began.
    for instance_id, drained_at in rollout.drained.items():
        late = [a for a in load.answers if a.instance == old[instance_id]
                and a.sent > drained_at]
        assert late == [], f"{len(late)} requests reached {old[instance_id]} after its drain"
    assert set(rollout.drained) == set(old)
    # The pool is back to 2, on v2 only; the old instances are terminated.
    clients = local_clients(find_cloud(cloud_state))
    members = clients.management.list_instance_pool_instances(
        stack.outputs.compartment_id, stack.outputs.instance_pool_id).data
    assert len(members) == 2 and not {m.id for m in members} & set(old)
    for instance_id in old:
        assert clients.compute.get_instance(instance_id).data.lifecycle_state == "TERMINATED"
    assert versions(stack) == {"v2"}
    assert any(line.startswith("previous instance configuration ocid1.") for line in lines)
    assert sum(" vnic ocid1.vnic." in line and " ip 127.1." in line for line in lines) >= 2


def pool_state(cloud_state: Path, stack: LocalStack) -> tuple[str, list[str]]:
    clients = local_clients(find_cloud(cloud_state))
    pool = clients.management.get_instance_pool(stack.outputs.instance_pool_id).data
    members = clients.management.list_instance_pool_instances(
        stack.outputs.compartment_id, stack.outputs.instance_pool_id).data
    assert pool.size == len(members)
    return pool.instance_configuration_id, sorted(m.id for m in members)


def test_broken_version_is_rolled_back_with_no_failed_request(
        cloud_state: Path, stack: LocalStack, service_dir: Path) -> None:
    wait_healthy(cloud_state, stack)
    before = pool_state(cloud_state, stack)
    port = int(stack.listener_url.rsplit(":", 1)[1])
    with Load(port) as load, pytest.raises(RolledBack) as err:
        roll(cloud_state, stack, service_dir, "broken-v2",
             RolloutSettings(max_wait_s=3, drain_timeout_s=1, lb_wait_timeout_s=60,
                             poll_interval_s=0.1))
    assert "rolled back" in str(err.value) and before[0] in str(err.value)
    assert load.failed == [] and {a.version for a in load.answers} == {"v1"}
    assert pool_state(cloud_state, stack) == before  # same configuration, same instances
    assert versions(stack) == {"v1"}


def test_one_step_rollback_to_the_previous_configuration(
        cloud_state: Path, stack: LocalStack, service_dir: Path) -> None:
    wait_healthy(cloud_state, stack)
    v1_configuration = pool_state(cloud_state, stack)[0]
    roll(cloud_state, stack, service_dir, "v2")
    assert versions(stack) == {"v2"}
    port = int(stack.listener_url.rsplit(":", 1)[1])
    with Load(port) as load:
        roll(cloud_state, stack, service_dir, "v2", configuration_id=v1_configuration)
    assert load.failed == []
    assert pool_state(cloud_state, stack)[0] == v1_configuration
    assert versions(stack) == {"v1"}


def test_an_instance_killed_mid_rollout_is_replaced_and_the_rollout_converges(
        cloud_state: Path, stack: LocalStack, service_dir: Path) -> None:
    wait_healthy(cloud_state, stack)
    clients = local_clients(find_cloud(cloud_state))
    old = [m.id for m in clients.management.list_instance_pool_instances(
        stack.outputs.compartment_id, stack.outputs.instance_pool_id).data]
    killed: list[int] = []

    class KillingRollout(Rollout):
        def drain_timeout(self, step: object, ids: dict[str, str]) -> str | None:
            if not killed:  # round 1: kill the old instance that is still serving
                vnic = self.vnic(old[1])
                assert vnic is not None
                pid = get_json(f"http://{vnic.private_ip}:{self.outputs.backend_port}/pid")
                os.kill(pid["pid"], signal.SIGKILL)
                killed.append(pid["pid"])
            return super().drain_timeout(step, ids)  # type: ignore[arg-type]

    outputs = stack.outputs
    roll(cloud_state, stack, service_dir, "v2",
         rollout=KillingRollout(clients, outputs, FAST))
    assert killed
    _, members = pool_state(cloud_state, stack)
    assert len(members) == 2 and not set(members) & set(old)
    assert versions(stack) == {"v2"}


def test_no_vnic_in_the_wanted_subnet_is_refused_before_any_change(
        cloud_state: Path, stack: LocalStack) -> None:
    clients = local_clients(find_cloud(cloud_state))
    observed = observe(clients, stack.outputs, "ocid1.subnet.oc1..elsewhere")
    refusals = vnic_refusals(list(observed.members))
    assert len(refusals) == 2
    assert all("no VNIC in subnet ocid1.subnet.oc1..elsewhere (VNIC_SUBNET_ID)" in r
               for r in refusals)
    matching = observe(clients, stack.outputs, stack.outputs.private_subnet_id)
    assert vnic_refusals(list(matching.members)) == []
    assert all(m.vnic is not None and m.vnic.private_ip.startswith("127.1.")
               for m in matching.members)
