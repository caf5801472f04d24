"""One rollout step against Compute Management and the Load Balancer, followed to its end.

`Rollout.apply` dispatches on the step's operation (an unknown one is refused, never
guessed). Waits poll read-only calls until their condition holds or their timeout
passes. A new version whose backends never get healthy (or whose instances have no VNIC
in `VNIC_SUBNET_ID`) is rolled back inside the health wait: the pool gets its previous
configuration back and the new instances are detached and terminated; the old ones were
never drained, so they keep serving throughout.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from fastfn.deploy.errors import TargetError
from fastfn.deploy.steps import Call, Step, WaitFor
from fastfn.deploy.targets.pool.configuration import sdk_details
from fastfn.deploy.targets.pool.observe import Clients, live_members
from fastfn.deploy.targets.pool.outputs import PoolOutputs
from fastfn.deploy.targets.pool.rollout import NEW_CONFIGURATION
from fastfn.deploy.targets.pool.settings import RolloutSettings
from fastfn.deploy.targets.pool.vnic import SelectedVnic, select_vnic

log = logging.getLogger("fastfn.deploy.pool")

Report = Callable[[str], None]


class RolledBack(TargetError):
    """The new version never got healthy; the pool is back on its previous configuration."""


class Rollout:
    def __init__(self, clients: Clients, outputs: PoolOutputs, settings: RolloutSettings,
                 report: Report | None = None) -> None:
        self.clients = clients
        self.outputs = outputs
        self.settings = settings
        self.report: Report = report or (lambda line: log.info("%s", line))
        self.drained: dict[str, float] = {}  # instance id -> when its drain took effect
        self.reported: set[str] = set()

    # -- reading ----------------------------------------------------------------------------

    def members(self) -> list[Any]:
        return live_members(self.clients, self.outputs)

    def pool(self) -> Any:
        return self.clients.management.get_instance_pool(self.outputs.instance_pool_id).data

    def vnic(self, instance_id: str) -> SelectedVnic | None:
        return select_vnic(self.clients.compute, self.clients.network,
                           self.outputs.compartment_id, instance_id,
                           self.settings.vnic_subnet_id)

    def health(self, backend: str) -> str:
        import oci

        try:
            return str(self.clients.lb.get_backend_health(
                self.outputs.lb_id, self.outputs.backend_set_name, backend).data.status)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                return "UNREGISTERED"
            raise

    def healthy(self, member: Any) -> bool:
        vnic = self.vnic(member.id)
        if vnic is None:
            return False
        if self.health(vnic.backend(self.outputs.backend_port)) != "OK":
            return False
        if member.id not in self.reported:
            self.reported.add(member.id)
            self.report(vnic.describe(member.display_name or member.id) + " healthy")
        return True

    # -- waiting ----------------------------------------------------------------------------

    def _until(self, check: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise TargetError(f"timed out after {timeout_s:g}s waiting for {what}")
            time.sleep(self.settings.poll_interval_s)

    def _work_request(self, response: Any, what: str) -> None:
        wr_id = response.headers.get("opc-work-request-id")
        if not wr_id:
            return

        def done() -> bool:
            status = self.clients.work.get_work_request(wr_id).data.status
            if status in ("FAILED", "CANCELED"):
                raise TargetError(f"{what}: work request {wr_id} {status}")
            return bool(status == "SUCCEEDED")

        self._until(done, self.settings.lb_wait_timeout_s, f"{what} (work request {wr_id})")

    def _lb_work_request(self, response: Any, what: str) -> None:
        wr_id = response.headers.get("opc-work-request-id")
        if not wr_id:
            return

        def done() -> bool:
            state = self.clients.lb.get_work_request(wr_id).data.lifecycle_state
            if state == "FAILED":
                raise TargetError(f"{what}: load balancer work request {wr_id} FAILED")
            return bool(state == "SUCCEEDED")

        self._until(done, self.settings.lb_wait_timeout_s, f"{what} (work request {wr_id})")

    # -- steps ------------------------------------------------------------------------------

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        if isinstance(step, Call) and step.operation in CALLS:
            operation: Operation = getattr(self, step.operation)
        elif isinstance(step, WaitFor) and step.condition in WAITS:
            operation = getattr(self, step.condition)
        else:
            raise TargetError(f"the pool target plans no {step.operation} step")
        return operation(step, ids)

    def create_instance_configuration(self, step: Step, ids: dict[str, str]) -> str | None:
        import oci

        created = self.clients.management.create_instance_configuration(
            sdk_details(oci.core.models, step.params)).data
        self.report(f"new instance configuration {created.id} ({created.display_name})")
        return str(created.id)

    def update_instance_pool(self, step: Step, ids: dict[str, str]) -> str | None:
        import oci

        p = step.params
        wanted = p["instance_configuration_id"]
        if wanted == NEW_CONFIGURATION:
            wanted = ids["instance_configuration"]
        present = {m.id for m in self.members()}
        surge = [i for i in p["surge"] if i in present]  # an old one may be gone already
        pool = self.pool()
        details: dict[str, Any] = {}
        if pool.instance_configuration_id != wanted:
            self.report(f"previous instance configuration {pool.instance_configuration_id}")
            details["instance_configuration_id"] = wanted
        if surge:
            details["size"] = p["size"] + len(surge)
        if details:
            self.clients.management.update_instance_pool(
                pool.id, oci.core.models.UpdateInstancePoolDetails(**details))
            self._until(lambda: self.pool().lifecycle_state == "RUNNING",
                        self.settings.lb_wait_timeout_s, "the instance pool to be RUNNING")
        return str(pool.id)

    def backends_healthy(self, step: Step, ids: dict[str, str]) -> str | None:
        p = step.params
        old = set(p["old"])
        timeout = step.timeout_s if isinstance(step, WaitFor) else self.settings.max_wait_s

        def ready() -> bool:
            members = self.members()
            fresh = [m for m in members if m.id not in old]
            healthy = [self.healthy(m) for m in fresh]  # each one reported once
            return len(members) >= self.pool().size and all(healthy)

        try:
            self._until(ready, timeout, "the new backends to be healthy")
        except TargetError as exc:
            self.roll_back(p, str(exc))
        return None

    def roll_back(self, params: dict[str, Any], cause: str) -> None:
        import oci

        previous = params["previous_configuration_id"]
        old = set(params["old"])
        m = oci.core.models
        self.clients.management.update_instance_pool(
            self.outputs.instance_pool_id,
            m.UpdateInstancePoolDetails(instance_configuration_id=previous))
        for member in self.members():
            if member.id in old:
                continue
            if self.pool().size <= params["size"]:
                break
            self._detach(member.id, member.display_name or member.id)
        raise RolledBack(f"{cause}; rolled back: the pool runs instance configuration "
                         f"{previous} again and the new instances were terminated; the old "
                         f"instances kept serving")

    def drain_backend(self, step: Step, ids: dict[str, str]) -> str | None:
        import oci

        instance_id = step.params["instance_id"]
        if instance_id not in {m.id for m in self.members()}:
            self.report(f"instance {step.name} is gone already: nothing to drain")
            return None
        vnic = self.vnic(instance_id)
        if vnic is None:
            return None
        name = vnic.backend(self.outputs.backend_port)
        lb, bs = self.outputs.lb_id, self.outputs.backend_set_name
        try:
            backend = self.clients.lb.get_backend(lb, bs, name).data
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        self.report(f"draining {name} ({step.name})")
        response = self.clients.lb.update_backend(
            oci.load_balancer.models.UpdateBackendDetails(
                weight=backend.weight or 1, backup=bool(backend.backup), drain=True,
                offline=bool(backend.offline)), lb, bs, name)
        self._lb_work_request(response, f"drain {name}")
        self.drained[instance_id] = time.monotonic()
        return None

    def drain_timeout(self, step: Step, ids: dict[str, str]) -> str | None:
        began = [self.drained[i] for i in step.params["instances"] if i in self.drained]
        if began and isinstance(step, WaitFor):
            time.sleep(max(0.0, max(began) + step.timeout_s - time.monotonic()))
        return None

    def _detach(self, instance_id: str, name: str) -> None:
        import oci

        response = self.clients.management.detach_instance_pool_instance(
            self.outputs.instance_pool_id,
            oci.core.models.DetachInstancePoolInstanceDetails(
                instance_id=instance_id, is_decrement_size=True, is_auto_terminate=True))
        self._work_request(response, f"detach and terminate {name}")
        self.report(f"terminated {name}")

    def detach_instance(self, step: Step, ids: dict[str, str]) -> str | None:
        if step.params["instance_id"] not in {m.id for m in self.members()}:
            return None  # gone by itself; the pool did not grow for it (see update)
        self._detach(step.params["instance_id"], step.name)
        return None

    def pool_converged(self, step: Step, ids: dict[str, str]) -> str | None:
        p = step.params
        wanted = p["configuration"]
        if wanted == NEW_CONFIGURATION:
            wanted = ids["instance_configuration"]

        def done() -> bool:
            members = self.members()
            pool = self.pool()
            return (pool.size == p["size"] and len(members) == p["size"]
                    and all(m.instance_configuration_id == wanted for m in members)
                    and all(self.healthy(m) for m in members))

        timeout = step.timeout_s if isinstance(step, WaitFor) else self.settings.max_wait_s
        self._until(done, timeout, f"the pool to be back to {p['size']} instances of "
                                   f"{wanted}")
        return None

    def smoke_test(self, step: Step, ids: dict[str, str]) -> str | None:
        url = step.params["url"]
        timeout = step.timeout_s if isinstance(step, WaitFor) else self.settings.smoke_timeout_s
        last = ["no answer"]

        def passes() -> bool:
            status = smoke(url)
            last[0] = str(status)
            return status == 200

        try:
            self._until(passes, timeout, f"smoke test {url}")
        except TargetError:
            raise TargetError(f"smoke test {url} failed (last: {last[0]}); `fastfn rollback` "
                              "puts the previous instance configuration back") from None
        self.report(f"smoke test {url}: 200")
        return None


def smoke(url: str, timeout_s: float = 10.0) -> int | str:
    """One cache-bypassing GET: a fresh query parameter and no-cache headers."""
    parts = urllib.parse.urlsplit(url)
    query = "&".join(q for q in (parts.query, f"fastfn_nocache={uuid.uuid4().hex}") if q)
    request = urllib.request.Request(
        urllib.parse.urlunsplit(parts._replace(query=query)),
        headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError) as exc:
        return type(exc).__name__



Operation = Callable[[Step, dict[str, str]], str | None]
# The operations and wait conditions a pool plan may hold (methods of Rollout).
CALLS = frozenset({"create_instance_configuration", "update_instance_pool",
                   "drain_backend", "detach_instance"})
WAITS = frozenset({"backends_healthy", "drain_timeout", "pool_converged", "smoke_test"})
