"""Instances, VNIC attachments and VNICs (Compute and Virtual Network APIs, 20160918).

Each instance is a local process (processes.py) with one primary VNIC whose private IP is
a distinct loopback address; pools launch and terminate them through `Instances`. After a
restart of the cloud, `restore` starts every RUNNING instance again on its own IP and
port, from the configuration it was launched with (a reboot, as far as the app can tell).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.compute import processes
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, filter_by, paginated
from fastfn.localcloud.oci.core.wire import empty_response, json_response
from fastfn.localcloud.process import Supervised

if TYPE_CHECKING:
    from fastfn.localcloud.oci.images import ImageStore

log = logging.getLogger("fastfn.localcloud.oci.compute")

V = "/20160918"
INSTANCE = "instance"
VNIC = "vnic"
LOCAL_AD = "local:AD-1"


def loopback_ip(n: int) -> str:
    # 127.1.0.0/16: clear of 127.0.0.1 and of addresses tests pick by hand.
    return f"127.1.{n // 250}.{n % 250 + 2}"


class Instances:
    def __init__(self, ctx: CloudContext, images: ImageStore | None = None) -> None:
        self.ctx = ctx
        self.images = images
        self.procs: dict[str, Supervised] = {}
        self.serial = max((d.get("serial", 0) for d in ctx.store.find(INSTANCE)), default=0)

    def get(self, instance_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(INSTANCE, instance_id)
        if doc is None:
            raise not_found("instance")
        return doc

    def launch(self, configuration: dict[str, Any], pool_id: str,
               subnet_id: str = "") -> dict[str, Any]:
        launch = configuration["instanceDetails"].get("launchDetails") or {}
        self.serial += 1
        ip = loopback_ip(self.serial)
        instance_id = ocid("instance", self.ctx.identity.region)
        name = f"inst-{self.serial}"
        proc, port = processes.start(launch, ip, name, self.images)
        self.procs[instance_id] = proc
        vnic_id = ocid("vnic", self.ctx.identity.region)
        compartment = launch.get("compartmentId") or configuration["compartmentId"]
        doc = {"id": instance_id, "compartmentId": compartment, "displayName": name,
               "availabilityDomain": LOCAL_AD, "faultDomain": "FAULT-DOMAIN-1",
               "region": self.ctx.identity.region, "shape": launch.get("shape") or "",
               "lifecycleState": "RUNNING", "timeCreated": rfc3339(now()),
               "metadata": {k: v for k, v in (launch.get("metadata") or {}).items()
                            if k != "user_data"},
               "instanceConfigurationId": configuration["id"], "instancePoolId": pool_id,
               "privateIp": ip, "port": port, "vnicId": vnic_id, "subnetId": subnet_id,
               "serial": self.serial}
        self.ctx.store.put(INSTANCE, instance_id, doc, parent=compartment, name=name)
        self.ctx.store.put(VNIC, vnic_id, {
            "id": vnic_id, "compartmentId": compartment, "availabilityDomain": LOCAL_AD,
            "displayName": name, "isPrimary": True, "lifecycleState": "AVAILABLE",
            "privateIp": ip, "subnetId": subnet_id, "timeCreated": doc["timeCreated"]},
            parent=instance_id)
        log.info("instance launched", extra={"instance_id": instance_id, "ip": ip})
        return doc

    def _put(self, doc: dict[str, Any]) -> None:
        self.ctx.store.put(INSTANCE, doc["id"], doc, parent=doc["compartmentId"],
                           name=doc["displayName"])

    def restore(self, configuration_of: Callable[[str], dict[str, Any] | None]) -> int:
        """Start again every instance the state holds as RUNNING (their processes ended
        with the previous cloud); one whose configuration is gone, or that was being
        terminated, is TERMINATED. Returns how many were started."""
        started = 0
        for doc in self.ctx.store.find(INSTANCE):
            if doc["lifecycleState"] == "TERMINATING":
                doc["lifecycleState"] = "TERMINATED"
                self._put(doc)
            if doc["lifecycleState"] != "RUNNING" or doc["id"] in self.procs:
                continue
            configuration = configuration_of(doc["instanceConfigurationId"])
            if configuration is None:
                doc["lifecycleState"] = "TERMINATED"
                self._put(doc)
                continue
            launch = configuration["instanceDetails"].get("launchDetails") or {}
            self.procs[doc["id"]], _ = processes.start(launch, doc["privateIp"],
                                                       doc["displayName"], self.images)
            started += 1
        if started:
            log.info("instances restored", extra={"count": started})
        return started

    def lost(self, instance_id: str) -> None:
        """The instance's process ended by itself: the instance is TERMINATED (a pool
        replaces it)."""
        self.procs.pop(instance_id, None)
        doc = self.get(instance_id)
        if doc["lifecycleState"] == "RUNNING":
            doc["lifecycleState"] = "TERMINATED"
            self._put(doc)
            log.warning("instance process ended", extra={"instance_id": instance_id})

    def alive(self, instance_id: str) -> bool:
        proc = self.procs.get(instance_id)
        return proc is not None and proc.alive

    async def terminate(self, instance_id: str) -> None:
        doc = self.get(instance_id)
        if doc["lifecycleState"] == "TERMINATED":
            return
        doc["lifecycleState"] = "TERMINATING"
        self._put(doc)
        proc = self.procs.pop(instance_id, None)
        if proc is not None:
            await processes.stop(proc)
        doc["lifecycleState"] = "TERMINATED"
        self._put(doc)

    async def aclose(self) -> None:
        await asyncio.gather(*(processes.stop(p, 5.0) for p in self.procs.values()))
        self.procs.clear()

    # -- routes ---------------------------------------------------------------------------

    @staticmethod
    def wire(doc: dict[str, Any]) -> dict[str, Any]:
        return drop_none({k: v for k, v in doc.items()
                          if k not in ("privateIp", "port", "vnicId", "subnetId", "serial",
                                       "instancePoolId")})

    async def read(self, request: Request) -> Response:
        return json_response(request, self.wire(self.get(request.path_params["id"])))

    async def list(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        docs = filter_by(self.ctx.store.find(INSTANCE, parent=compartment),
                         request.query_params, {"lifecycleState": "lifecycleState"})
        return paginated(request, [self.wire(d) for d in docs])

    async def delete(self, request: Request) -> Response:
        self.get(request.path_params["id"])
        asyncio.get_running_loop().create_task(self.terminate(request.path_params["id"]))
        return empty_response(request)

    async def vnic_attachments(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        wanted = request.query_params.get("instanceId")
        out = []
        for doc in self.ctx.store.find(INSTANCE, parent=compartment):
            if wanted and doc["id"] != wanted:
                continue
            out.append({"id": ocid("vnicattachment", self.ctx.identity.region,
                                   seed=doc["vnicId"]),
                        "instanceId": doc["id"], "vnicId": doc["vnicId"],
                        "subnetId": doc["subnetId"], "compartmentId": compartment,
                        "availabilityDomain": LOCAL_AD, "nicIndex": 0,
                        "lifecycleState": "ATTACHED" if doc["lifecycleState"] == "RUNNING"
                        else "DETACHED", "timeCreated": doc["timeCreated"]})
        return paginated(request, out)

    async def vnic(self, request: Request) -> Response:
        doc = self.ctx.store.get(VNIC, request.path_params["id"])
        if doc is None:
            raise not_found("vnic")
        return json_response(request, doc)

    def routes(self) -> list[Route]:
        return [
            Route(V + "/instances", self.list, methods=["GET"]),
            Route(V + "/instances/{id}", self.read, methods=["GET"]),
            Route(V + "/instances/{id}", self.delete, methods=["DELETE"]),
            Route(V + "/vnicAttachments", self.vnic_attachments, methods=["GET"]),
            Route(V + "/vnics/{id}", self.vnic, methods=["GET"]),
        ]
