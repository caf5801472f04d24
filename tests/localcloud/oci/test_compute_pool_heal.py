"""A pool keeps its size: a member whose process dies is replaced and the replacement is
registered with the load balancer; instances and listeners come back after a restart."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

from support.pools import Pool, get_json, make_pool
from support.waiting import wait_for

pytestmark = pytest.mark.slow


def test_a_dead_instance_is_replaced_and_registered(cloud: LocalCloud) -> None:
    pool = make_pool(cloud, size=2)
    wait_for(lambda: pool.healthy(2), timeout=60)
    before = pool.members()
    victim = before[0]
    victim_backend = victim.load_balancer_backends[0].backend_name
    ip = victim_backend.split(":")[0]
    pid = get_json(f"http://{ip}:{pool.port}/pid")["pid"]
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: victim.id not in {m.id for m in pool.members()}, timeout=30)
    wait_for(lambda: pool.healthy(2), timeout=60)
    after = pool.members()
    assert len({m.id for m in after} - {m.id for m in before}) == 1
    assert pool.compute.get_instance(victim.id).data.lifecycle_state == "TERMINATED"
    backends = pool.backends()
    assert victim_backend not in backends and len(backends) == 2
    assert {m.load_balancer_backends[0].backend_name for m in after} == backends
    names = {get_json(pool.url + "/whoami")["instance"] for _ in range(6)}
    assert names == {m.display_name for m in after}


def test_instances_and_listeners_come_back_after_restart(state_dir: Path) -> None:
    with LocalCloud(state_dir) as first:
        pool = make_pool(first, size=2)
        wait_for(lambda: pool.healthy(2), timeout=60)
        members = {m.id: m.load_balancer_backends[0].backend_name for m in pool.members()}
        ids = (pool.lb_id, pool.pool_id, pool.port, pool.listen)
    with LocalCloud(state_dir) as second:
        again = Pool(second, second.client(oci.core.ComputeManagementClient),
                     second.client(oci.core.ComputeClient),
                     second.client(oci.load_balancer.LoadBalancerClient), *ids)
        wait_for(lambda: again.healthy(2), timeout=60)
        assert {m.id: m.load_balancer_backends[0].backend_name
                for m in again.members()} == members
        names = {get_json(again.url + "/whoami")["instance"] for _ in range(6)}
        assert len(names) == 2

