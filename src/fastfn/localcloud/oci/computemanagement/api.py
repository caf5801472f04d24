"""Instance pools (Compute Management API, 20160918) and their work requests.

A pool keeps `size` local instances launched from the instance configuration it holds at
launch time (a new configuration affects new instances only); shrinking terminates the
oldest first. Each attached load balancer gets every member as a backend `ip:port`,
removed when the member is detached or terminated. As OCI keeps a pool at its size, a
member whose process ends (or that is terminated outside the pool) is replaced by a new
instance, registered with the attached load balancers like any other.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.compute.api import InstanceConfigurations
from fastfn.localcloud.oci.compute.instances import Instances
from fastfn.localcloud.oci.compute.models import INSTANCE_CONFIGURATION
from fastfn.localcloud.oci.computemanagement.models import (
    INSTANCE_POOL,
    WORK_REQUEST,
    AttachLoadBalancerDetails,
    CreateInstancePoolDetails,
    DetachInstancePoolInstanceDetails,
    UpdateInstancePoolDetails,
)
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, invalid, missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, paginated
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.loadbalancer.api import LoadBalancers

log = logging.getLogger("fastfn.localcloud.oci.computemanagement")

V = "/20160918"
HEAL_INTERVAL_S = 0.5


class InstancePools:
    def __init__(self, ctx: CloudContext, configurations: InstanceConfigurations,
                 instances: Instances, lbs: LoadBalancers) -> None:
        self.ctx = ctx
        self.configurations = configurations
        self.instances = instances
        self.lbs = lbs
        self.tasks: set[asyncio.Task[None]] = set()
        self.monitor: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Instances again after a restart, then the watch that keeps pools at size."""
        self.instances.restore(
            lambda cid: self.ctx.store.get(INSTANCE_CONFIGURATION, cid))
        self.heal()
        self.monitor = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(HEAL_INTERVAL_S)
            try:
                self.heal()
            except Exception:  # one bad pass must not end the watch
                log.exception("instance pool watch failed")

    def heal(self) -> None:
        """Replace every member whose process has ended."""
        for pool in self.ctx.store.find(INSTANCE_POOL):
            lost = [i for i in pool["members"] if not self.instances.alive(i)]
            if not lost:
                continue
            for instance_id in lost:
                self.instances.lost(instance_id)
                self._remove(pool, instance_id, terminate=False)
            log.warning("replacing lost pool instances",
                        extra={"instance_pool_id": pool["id"], "count": len(lost)})
            self._reconcile(pool)

    def _pool(self, pool_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(INSTANCE_POOL, pool_id)
        if doc is None:
            raise not_found("instance pool")
        return doc

    def _save(self, pool: dict[str, Any]) -> None:
        self.ctx.store.put(INSTANCE_POOL, pool["id"], pool, parent=pool["compartmentId"],
                           name=pool["displayName"])

    @staticmethod
    def wire(pool: dict[str, Any]) -> dict[str, Any]:
        return drop_none({k: v for k, v in pool.items() if k != "members"})

    def _background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _add_to_lbs(self, pool: dict[str, Any], instance: dict[str, Any]) -> None:
        for att in pool["loadBalancers"]:
            self.lbs.attach(att["loadBalancerId"], att["backendSetName"],
                            instance["privateIp"], att["port"])

    def _remove(self, pool: dict[str, Any], instance_id: str, terminate: bool) -> None:
        instance = self.instances.get(instance_id)
        pool["members"].remove(instance_id)
        for att in pool["loadBalancers"]:
            self.lbs.detach(att["loadBalancerId"], att["backendSetName"],
                            f"{instance['privateIp']}:{att['port']}")
        if terminate:
            self._background(self.instances.terminate(instance_id))

    def _reconcile(self, pool: dict[str, Any]) -> None:
        configuration = self.configurations.get(pool["instanceConfigurationId"])
        subnet = (pool["placementConfigurations"][0].get("primarySubnetId") or "")
        while len(pool["members"]) < pool["size"]:
            instance = self.instances.launch(configuration, pool["id"], subnet)
            pool["members"].append(instance["id"])
            self._add_to_lbs(pool, instance)
        while len(pool["members"]) > pool["size"]:
            self._remove(pool, pool["members"][0], terminate=True)  # oldest first
        self._save(pool)

    def _work_request(self, compartment: str, operation: str, resource: str) -> dict[str, Any]:
        t = rfc3339(now())
        wr = {"id": ocid("coreservicesworkrequest", self.ctx.identity.region),
              "operationType": operation, "status": "IN_PROGRESS", "compartmentId": compartment,
              "resources": [{"entityType": "instance", "actionType": "IN_PROGRESS",
                             "identifier": resource}],
              "percentComplete": 0.0, "timeAccepted": t, "timeStarted": t}
        self.ctx.store.put(WORK_REQUEST, wr["id"], wr, parent=compartment)
        return wr

    def _finish(self, wr: dict[str, Any], action: str) -> None:
        wr.update(status="SUCCEEDED", percentComplete=100.0, timeFinished=rfc3339(now()))
        wr["resources"][0]["actionType"] = action
        self.ctx.store.put(WORK_REQUEST, wr["id"], wr, parent=wr["compartmentId"])

    # -- routes ---------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        details = await parse_body(request, CreateInstancePoolDetails)
        if not self.ctx.compartment_exists(details.compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {details.compartment_id} not found.")
        self.configurations.get(details.instance_configuration_id)
        pool_id = ocid("instancepool", self.ctx.identity.region)
        pool: dict[str, Any] = {
            "id": pool_id, "compartmentId": details.compartment_id,
            "displayName": details.display_name or "instancepool" + rfc3339(now()),
            "instanceConfigurationId": details.instance_configuration_id,
            "size": details.size, "lifecycleState": "RUNNING",
            "placementConfigurations": [p.wire() for p in details.placement_configurations],
            "loadBalancers": [], "timeCreated": rfc3339(now()),
            "freeformTags": details.freeform_tags or {}, "members": [],
        }
        for att in details.load_balancers:
            pool["loadBalancers"].append(self._attachment(pool_id, att))
        self._reconcile(pool)
        return json_response(request, self.wire(pool), headers={"etag": pool_id})

    def _attachment(self, pool_id: str, att: AttachLoadBalancerDetails) -> dict[str, Any]:
        if att.vnic_selection != "PrimaryVnic":
            raise invalid("vnicSelection: local instances have only the PrimaryVnic.")
        lb = self.lbs.ctx.store.get("load_balancer", att.load_balancer_id)
        if lb is None or att.backend_set_name not in lb["backendSets"]:
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           "loadBalancerId or backendSetName not found.")
        return {"id": ocid("instancepoolloadbalancerattachment", self.ctx.identity.region),
                "instancePoolId": pool_id, "loadBalancerId": att.load_balancer_id,
                "backendSetName": att.backend_set_name, "port": att.port,
                "vnicSelection": att.vnic_selection, "lifecycleState": "ATTACHED"}

    async def read(self, request: Request) -> Response:
        return json_response(request, self.wire(self._pool(request.path_params["id"])))

    async def list(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        docs = self.ctx.store.find(INSTANCE_POOL, parent=compartment)
        return paginated(request, [self.wire(d) for d in docs])

    async def update(self, request: Request) -> Response:
        pool = self._pool(request.path_params["id"])
        details = await parse_body(request, UpdateInstancePoolDetails)
        if details.instance_configuration_id is not None:
            self.configurations.get(details.instance_configuration_id)
            pool["instanceConfigurationId"] = details.instance_configuration_id
        if details.display_name is not None:
            pool["displayName"] = details.display_name
        if details.size is not None:
            pool["size"] = details.size
        self._reconcile(pool)
        return json_response(request, self.wire(pool))

    async def attach_lb(self, request: Request) -> Response:
        pool = self._pool(request.path_params["id"])
        att = self._attachment(pool["id"], await parse_body(request,
                                                             AttachLoadBalancerDetails))
        pool["loadBalancers"].append(att)
        for instance_id in pool["members"]:
            instance = self.instances.get(instance_id)
            self.lbs.attach(att["loadBalancerId"], att["backendSetName"],
                            instance["privateIp"], att["port"])
        self._save(pool)
        return json_response(request, self.wire(pool))

    async def members(self, request: Request) -> Response:
        pool = self._pool(request.path_params["id"])
        if not request.query_params.get("compartmentId"):
            raise missing("compartmentId")
        out = []
        for instance_id in pool["members"]:
            inst = self.instances.get(instance_id)
            backends = []
            for att in pool["loadBalancers"]:
                name = f"{inst['privateIp']}:{att['port']}"
                status = self.lbs.backend_status(att["loadBalancerId"], att["backendSetName"],
                                                 name)[0]
                backends.append({"loadBalancerId": att["loadBalancerId"],
                                 "backendSetName": att["backendSetName"],
                                 "backendName": name, "backendHealthStatus": status})
            out.append({**Instances.wire(inst), "state": inst["lifecycleState"],
                        "loadBalancerBackends": backends})
        return paginated(request, out)

    async def detach(self, request: Request) -> Response:
        pool = self._pool(request.path_params["id"])
        details = await parse_body(request, DetachInstancePoolInstanceDetails)
        if details.instance_id not in pool["members"]:
            raise invalid("instanceId is not an instance of this pool.")
        wr = self._work_request(pool["compartmentId"], "DetachInstancePoolInstance",
                                details.instance_id)
        self._remove(pool, details.instance_id, terminate=False)
        if details.is_decrement_size:
            pool["size"] -= 1
        self._reconcile(pool)

        async def finish() -> None:
            if details.is_auto_terminate:
                await self.instances.terminate(details.instance_id)
            self._finish(wr, "RELATED")

        self._background(finish())
        return empty_response(request, 202, headers={"opc-work-request-id": wr["id"]})

    async def work_request(self, request: Request) -> Response:
        wr = self.ctx.store.get(WORK_REQUEST, request.path_params["id"])
        if wr is None:
            raise not_found("work request")
        return json_response(request, wr)

    async def aclose(self) -> None:
        if self.monitor is not None:
            self.monitor.cancel()
        for task in list(self.tasks):
            await asyncio.wait([task], timeout=15)

    def routes(self) -> list[Route]:
        p = V + "/instancePools/{id}"
        return [
            Route(V + "/instancePools", self.create, methods=["POST"]),
            Route(V + "/instancePools", self.list, methods=["GET"]),
            Route(p, self.read, methods=["GET"]),
            Route(p, self.update, methods=["PUT"]),
            Route(p + "/instances", self.members, methods=["GET"]),
            Route(p + "/actions/detachInstance", self.detach, methods=["POST"]),
            Route(p + "/actions/attachLoadBalancer", self.attach_lb, methods=["POST"]),
            Route(V + "/workRequests/{id}", self.work_request, methods=["GET"]),
        ]
