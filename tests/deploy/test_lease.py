"""The deploy lease in the target's cloud: two checkouts of one service (a laptop and a CI
runner, say) never deploy the same stage at once, through the real SDK against a local
cloud; an ended lease is taken over, a held one is renewed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastfn.deploy import deployer
from fastfn.deploy.errors import DeployLocked
from fastfn.deploy.lease import cloud_lease
from fastfn.deploy.targets.oci import OciFunctionsTarget
from fastfn.localcloud.oci import LocalCloud
from fastfn.manifest import load

from support.deploy import work_requests

HOLD_LEASE = """
import sys, time
from pathlib import Path
from fastfn.deploy.deployer import locked
from fastfn.deploy.targets.oci import local_cloud_target
from fastfn.manifest import load

service_dir, cloud_state = Path(sys.argv[1]), Path(sys.argv[2])
target = local_cloud_target(cloud_state)
desired = target.desired(load(service_dir), service_dir, "dev")
with locked(service_dir, desired, target, "deploy"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def second_checkout(service_dir: Path, tmp_path: Path) -> Path:
    other = tmp_path / "ci-runner" / "hello"
    shutil.copytree(service_dir, other)
    return other


def test_a_deploy_from_another_checkout_waits_for_the_cloud_lease(
        cloud: LocalCloud, cloud_state: Path, target: OciFunctionsTarget,
        service_dir: Path, second_checkout: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LEASE, str(service_dir),
                               str(cloud_state)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DeployLocked) as refused:
            deployer.deploy(load(second_checkout), second_checkout, "dev", target)
        message = str(refused.value)
        assert "locked in the cloud (oci://fastfn-deploy-locks/hello/dev.lock)" in message
        assert f"(pid {holder.pid})" in message and "since 20" in message
        assert work_requests(cloud) == []  # refused before any call
        # another stage is a lease of its own
        other = deployer.deploy(load(second_checkout), second_checkout, "prod", target)
        assert other.execution.mutating_calls == 2
    finally:
        holder.communicate("", timeout=30)  # released on a clean exit
    assert holder.returncode == 0
    done = deployer.deploy(load(second_checkout), second_checkout, "dev", target)
    assert done.execution.mutating_calls == 2
    assert target.lease_store().read("hello/dev.lock") is None  # released again


def test_an_ended_lease_is_taken_over(cloud: LocalCloud, target: OciFunctionsTarget,
                                      service_dir: Path) -> None:
    store = target.lease_store()
    gone = {"host": "ci-runner-7", "pid": 4242, "user": "ci", "operation": "deploy",
            "since": "2026-01-01T00:00:00Z", "expires_at": time.time() - 1,
            "expires": "2026-01-01T00:10:00Z"}
    assert store.create("hello/dev.lock", json.dumps(gone).encode()) is not None
    outcome = deployer.deploy(load(service_dir), service_dir, "dev", target)
    assert outcome.execution.mutating_calls == 2
    assert store.read("hello/dev.lock") is None


def test_a_held_lease_is_renewed_and_refuses_others_past_its_first_term(
        cloud: LocalCloud, target: OciFunctionsTarget) -> None:
    store = target.lease_store()
    with cloud_lease(store, "svc", "qa", lease_s=1.5):
        first = json.loads(store.read("svc/qa.lock")[0])  # type: ignore[index]
        time.sleep(2.2)  # past the first term: alive only because it was renewed
        renewed = json.loads(store.read("svc/qa.lock")[0])  # type: ignore[index]
        assert renewed["expires_at"] > first["expires_at"]
        with pytest.raises(DeployLocked, match="lease until"), \
                cloud_lease(store, "svc", "qa", lease_s=0.9):
            pass
    assert store.read("svc/qa.lock") is None
