"""The rolling update as typed steps, and the port checks made before any of them (pure).

For each round of `max_surge` old instances (seed 002's sequence, per round):

    update_instance_pool      size N+s (the new configuration on the first round)
    wait backends_healthy     every new member's backend OK, by its VNIC's private IP
    drain_backend             each old member of the round stops getting new requests
    wait drain_timeout        BACKEND_DRAIN_TIMEOUT_SECONDS for requests in flight
    detach_instance           auto-terminate, size back down: N again

then `wait pool_converged` (N members, all on the new configuration, all OK) and the
smoke test. Old instances are drained only once new ones are healthy, so the pool never
has fewer healthy backends than before; a new version that never gets healthy is rolled
back by the health wait itself (the old instances were never drained).
"""

from __future__ import annotations

from typing import Any

from fastfn.deploy.steps import Call, Step, WaitFor
from fastfn.deploy.targets.pool.observe import Member, PoolObserved
from fastfn.deploy.targets.pool.outputs import PoolOutputs
from fastfn.deploy.targets.pool.settings import InstanceSettings, RolloutSettings

NEW_CONFIGURATION = "new"  # update_instance_pool param: the configuration made earlier


def port_refusals(outputs: PoolOutputs, observed: PoolObserved,
                  instance: InstanceSettings) -> list[str]:
    """Backend port = container port = PORT, or no change is made at all."""
    port = outputs.backend_port
    where = f"load balancer {outputs.lb_id} backend set {outputs.backend_set_name}"
    found: list[str] = []
    if observed.attachment_port is None:
        found.append(f"instance pool {outputs.instance_pool_id} is not attached to {where}")
    elif observed.attachment_port != port:
        found.append(f"port mismatch: the pool's backend port on {where} is "
                     f"{observed.attachment_port}, Terraform output backend_port is {port}")
    if observed.health_port is not None and observed.health_port != port:
        found.append(f"port mismatch: the health checker of {where} probes port "
                     f"{observed.health_port}, Terraform output backend_port is {port}")
    if instance.port is not None and instance.port != port:
        found.append(f"port mismatch: pool.port (the container port) is {instance.port}, "
                     f"Terraform output backend_port is {port}")
    configured = instance.config.get("PORT")
    if configured is not None and configured != str(port):
        found.append(f"port mismatch: config PORT is {configured}, Terraform output "
                     f"backend_port is {port}")
    return found


def vnic_refusals(members: list[Member]) -> list[str]:
    return [m.vnic_error for m in members if m.vnic_error]


def rounds(old: list[Member], surge: int) -> list[list[Member]]:
    return [old[i:i + surge] for i in range(0, len(old), max(1, surge))]


def rollout_steps(outputs: PoolOutputs, observed: PoolObserved, settings: RolloutSettings,
                  configuration: dict[str, Any] | None,
                  configuration_id: str | None = None) -> list[Step]:
    """The steps from the pool as observed to every member on the new configuration:
    `configuration` (created first) or an existing `configuration_id` (a rollback)."""
    steps: list[Step] = []
    if configuration is not None:
        steps.append(Call("create_instance_configuration", "instance_configuration",
                          configuration["display_name"], None, configuration))
        wanted = NEW_CONFIGURATION
    elif configuration_id is not None:
        wanted = configuration_id
    else:
        raise ValueError("a rollout needs a configuration or a configuration id")
    old = [m for m in observed.members if m.configuration_id != configuration_id]
    size = observed.size
    pool, name = outputs.instance_pool_id, observed.configuration_name
    common = {"old": [m.id for m in old], "size": size,
              "previous_configuration_id": observed.configuration_id}
    if not old:  # nothing to replace: the pool only launches the new one from now on
        steps.append(Call("update_instance_pool", "instance_pool", "instance pool", pool,
                          {"instance_configuration_id": wanted, "surge": [], **common}))
    for n, group in enumerate(rounds(old, settings.max_surge), 1):
        steps.append(Call("update_instance_pool", "instance_pool",
                          f"instance pool (round {n}: surge to {size + len(group)})", pool,
                          {"instance_configuration_id": wanted,
                           "surge": [m.id for m in group], **common}))
        steps.append(WaitFor("backends_healthy", "instance_pool",
                             f"new backends healthy (round {n})", pool,
                             settings.max_wait_s, {**common, "from": name}))
        for m in group:
            steps.append(Call("drain_backend", "backend", m.name, m.id,
                              {"instance_id": m.id}))
        steps.append(WaitFor("drain_timeout", "backend", f"drain (round {n})", None,
                             settings.drain_timeout_s,
                             {"instances": [m.id for m in group]}))
        for m in group:
            steps.append(Call("detach_instance", "instance", m.name, m.id,
                              {"instance_id": m.id, "auto_terminate": True,
                               "decrement_size": True}))
    steps.append(WaitFor("pool_converged", "instance_pool", f"pool back to {size}", pool,
                         settings.max_wait_s, {**common, "configuration": wanted}))
    for key, url in (("health", settings.healthcheck_url),
                     ("db", settings.healthcheck_db_url)):
        if url:
            steps.append(WaitFor("smoke_test", "smoke", key, None, settings.smoke_timeout_s,
                                 {"url": url}))
    return steps
