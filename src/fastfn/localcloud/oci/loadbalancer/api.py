"""Load balancers (API 20170115): backend sets, backends, listeners, health, work requests.

Every mutating call answers with no body and an `opc-work-request-id`, as the SDK expects;
the local changes apply at once, so the work request is SUCCEEDED when returned. Each
backend gets a health-check task in the server's event loop; each listener is a real
HTTP proxy on 127.0.0.1:<listener port> (see proxy.py). After a restart of the cloud,
`restore` opens the listeners and starts the health checks of every load balancer held in
the state again; each backend's health is UNKNOWN until its first check, as on OCI.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, conflict, invalid, missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, paginated
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.loadbalancer.health import Checker, backend_set_status
from fastfn.localcloud.oci.loadbalancer.models import (
    LOAD_BALANCER,
    WORK_REQUEST,
    BackendDetails,
    CreateBackendSetDetails,
    CreateListenerDetails,
    CreateLoadBalancerDetails,
    UpdateBackendDetails,
    backend_name,
)
from fastfn.localcloud.oci.loadbalancer.proxy import Listener

log = logging.getLogger("fastfn.localcloud.oci.loadbalancer")

V = "/20170115"
Key = tuple[str, str, str]  # load balancer id, backend set name, backend name


class LoadBalancers:
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx
        self.checkers: dict[Key, tuple[Checker, asyncio.Task[None]]] = {}
        self.listeners: dict[tuple[str, str], Listener] = {}
        # The listeners choose a backend for every request: they read this copy of each
        # load balancer's backends (kept current by _save) rather than the store.
        self.live: dict[str, dict[str, Any]] = {}

    # -- state -----------------------------------------------------------------------------

    def _lb(self, lb_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(LOAD_BALANCER, lb_id)
        if doc is None:
            raise not_found("load balancer")
        return doc

    def _bs(self, lb: dict[str, Any], name: str) -> dict[str, Any]:
        if name not in lb["backendSets"]:
            raise not_found("backend set")
        return lb["backendSets"][name]  # type: ignore[no-any-return]

    def _save(self, lb: dict[str, Any]) -> None:
        self.live[lb["id"]] = lb
        self.ctx.store.put(LOAD_BALANCER, lb["id"], lb, parent=lb["compartmentId"],
                           name=lb["displayName"])

    def _work_request(self, request: Request, lb_id: str, kind: str) -> Response:
        t = rfc3339(now())
        wr = {"id": ocid("loadbalancerworkrequest", self.ctx.identity.region),
              "loadBalancerId": lb_id, "type": kind, "lifecycleState": "SUCCEEDED",
              "message": f"{kind} succeeded", "timeAccepted": t, "timeFinished": t,
              "errorDetails": []}
        self.ctx.store.put(WORK_REQUEST, wr["id"], wr, parent=lb_id, name=t)
        return empty_response(request, 204, headers={"opc-work-request-id": wr["id"]})

    def backend_status(self, lb_id: str, bs: str, name: str) -> tuple[str, str]:
        entry = self.checkers.get((lb_id, bs, name))
        if entry is None:
            return "UNKNOWN", "UNKNOWN"
        return entry[0].state.status, entry[0].state.last_result

    def eligible(self, lb_id: str, bs_name: str) -> list[dict[str, Any]]:
        """Backends that may take new requests: healthy, not draining, not offline;
        backups only when no primary qualifies."""
        lb = self.live.get(lb_id)
        if lb is None or bs_name not in lb["backendSets"]:
            return []
        usable = [b for b in lb["backendSets"][bs_name]["backends"]
                  if not b["drain"] and not b["offline"]
                  and self.backend_status(lb_id, bs_name, b["name"])[0] == "OK"]
        primary = [b for b in usable if not b["backup"]]
        return primary or usable

    def _start_checker(self, lb_id: str, bs: dict[str, Any], backend: dict[str, Any]) -> None:
        hc = bs["healthChecker"]
        checker = Checker(ip=backend["ipAddress"], port=hc.get("port") or backend["port"],
                          url_path=hc.get("urlPath") or "/", return_code=hc.get("returnCode")
                          or 200, retries=hc["retries"], interval_s=hc["intervalInMillis"]
                          / 1000, timeout_s=hc["timeoutInMillis"] / 1000)
        key = (lb_id, bs["name"], backend["name"])
        self._stop_checker(key)
        self.checkers[key] = (checker, asyncio.get_running_loop().create_task(checker.run()))

    def _stop_checker(self, key: Key) -> None:
        entry = self.checkers.pop(key, None)
        if entry is not None:
            entry[1].cancel()

    def _add_backend(self, lb_id: str, bs: dict[str, Any], details: BackendDetails) -> None:
        name = backend_name(details.ip_address, details.port)
        if any(b["name"] == name for b in bs["backends"]):
            raise conflict(f"Backend {name} already exists in backend set {bs['name']}.")
        backend = {"name": name, **details.wire()}
        bs["backends"].append(backend)
        self._start_checker(lb_id, bs, backend)

    def attach(self, lb_id: str, bs_name: str, ip: str, port: int) -> str:
        """Add `ip:port` to a backend set (instance pools do this for each instance)."""
        lb = self._lb(lb_id)
        bs = self._bs(lb, bs_name)
        self._add_backend(lb_id, bs, BackendDetails(ip_address=ip, port=port))
        self._save(lb)
        return backend_name(ip, port)

    def detach(self, lb_id: str, bs_name: str, name: str) -> None:
        lb = self.ctx.store.get(LOAD_BALANCER, lb_id)
        if lb is None or bs_name not in lb["backendSets"]:
            return
        bs = lb["backendSets"][bs_name]
        bs["backends"] = [b for b in bs["backends"] if b["name"] != name]
        self._stop_checker((lb_id, bs_name, name))
        self._save(lb)

    def _backend_set_doc(self, lb_id: str, details: CreateBackendSetDetails) -> dict[str, Any]:
        bs: dict[str, Any] = {"name": details.name, "policy": details.policy,
                              "healthChecker": details.health_checker.wire(), "backends": []}
        for backend in details.backends:
            self._add_backend(lb_id, bs, backend)
        return bs

    async def _open_listener(self, lb: dict[str, Any], details: CreateListenerDetails) -> None:
        if details.default_backend_set_name not in lb["backendSets"]:
            raise invalid(f"defaultBackendSetName {details.default_backend_set_name!r} is "
                          "not a backend set of this load balancer.")
        listener = Listener(self, lb["id"], details.default_backend_set_name, details.port)
        try:
            await listener.start()
        except OSError as exc:
            raise conflict(f"Listener port {details.port} is not available: {exc.strerror}"
                           ) from None
        self.listeners[(lb["id"], details.name)] = listener
        lb["listeners"][details.name] = details.wire()

    async def restore(self) -> None:
        """Listeners and health checks again for every load balancer in the state."""
        for lb in self.ctx.store.find(LOAD_BALANCER):
            self.live[lb["id"]] = lb
            for bs in lb["backendSets"].values():
                for backend in bs["backends"]:
                    self._start_checker(lb["id"], bs, backend)
            for name, wire in lb["listeners"].items():
                listener = Listener(self, lb["id"], wire["defaultBackendSetName"],
                                    wire["port"])
                try:
                    await listener.start()
                except OSError as exc:
                    log.warning("listener not restored: port %s: %s", wire["port"],
                                exc.strerror, extra={"load_balancer_id": lb["id"]})
                    continue
                self.listeners[(lb["id"], name)] = listener

    async def _release(self, lb_id: str) -> None:
        for key in [k for k in self.checkers if k[0] == lb_id]:
            self._stop_checker(key)
        for key in [k for k in self.listeners if k[0] == lb_id]:
            await self.listeners.pop(key).stop()

    # -- load balancers -------------------------------------------------------------------

    async def create_lb(self, request: Request) -> Response:
        details = await parse_body(request, CreateLoadBalancerDetails)
        if not self.ctx.compartment_exists(details.compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {details.compartment_id} not found.")
        lb: dict[str, Any] = {
            "id": ocid("loadbalancer", self.ctx.identity.region),
            "compartmentId": details.compartment_id, "displayName": details.display_name,
            "shapeName": details.shape_name, "subnetIds": details.subnet_ids,
            "isPrivate": details.is_private, "lifecycleState": "ACTIVE",
            "ipAddresses": [{"ipAddress": "127.0.0.1", "isPublic": not details.is_private}],
            "backendSets": {}, "listeners": {}, "timeCreated": rfc3339(now()),
            "freeformTags": details.freeform_tags or {},
        }
        try:
            for name, bs in details.backend_sets.items():
                lb["backendSets"][name] = self._backend_set_doc(
                    lb["id"], CreateBackendSetDetails(name=name, **dict(bs)))
            for name, listener in details.listeners.items():
                await self._open_listener(lb, CreateListenerDetails(name=name,
                                                                    **dict(listener)))
        except OCIError:
            await self._release(lb["id"])  # a refused create leaves no task or socket
            raise
        self._save(lb)
        return self._work_request(request, lb["id"], "CreateLoadBalancer")

    async def get_lb(self, request: Request) -> Response:
        return json_response(request, drop_none(self._lb(request.path_params["id"])))

    async def list_lbs(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        return paginated(request, self.ctx.store.find(LOAD_BALANCER, parent=compartment))

    async def delete_lb(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        await self._release(lb["id"])
        self.ctx.store.delete(LOAD_BALANCER, lb["id"])
        self.live.pop(lb["id"], None)
        return self._work_request(request, lb["id"], "DeleteLoadBalancer")

    # -- backend sets, listeners ----------------------------------------------------------

    async def create_backend_set(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        details = await parse_body(request, CreateBackendSetDetails)
        if details.name in lb["backendSets"]:
            raise conflict(f"Backend set {details.name} already exists.")
        lb["backendSets"][details.name] = self._backend_set_doc(lb["id"], details)
        self._save(lb)
        return self._work_request(request, lb["id"], "CreateBackendSet")

    async def get_backend_set(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        return json_response(request, self._bs(lb, request.path_params["bs"]))

    async def list_backend_sets(self, request: Request) -> Response:
        return json_response(request, list(self._lb(request.path_params["id"])
                                           ["backendSets"].values()))

    async def create_listener(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        details = await parse_body(request, CreateListenerDetails)
        if details.name in lb["listeners"]:
            raise conflict(f"Listener {details.name} already exists.")
        await self._open_listener(lb, details)
        self._save(lb)
        return self._work_request(request, lb["id"], "CreateListener")

    # -- backends -------------------------------------------------------------------------

    def _backend(self, bs: dict[str, Any], name: str) -> dict[str, Any]:
        for b in bs["backends"]:
            if b["name"] == name:
                return b  # type: ignore[no-any-return]
        raise not_found("backend")

    async def create_backend(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        bs = self._bs(lb, request.path_params["bs"])
        self._add_backend(lb["id"], bs, await parse_body(request, BackendDetails))
        self._save(lb)
        return self._work_request(request, lb["id"], "CreateBackend")

    async def list_backends(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        return json_response(request, self._bs(lb, request.path_params["bs"])["backends"])

    async def get_backend(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        bs = self._bs(lb, request.path_params["bs"])
        return json_response(request, self._backend(bs, request.path_params["name"]))

    async def update_backend(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        bs = self._bs(lb, request.path_params["bs"])
        backend = self._backend(bs, request.path_params["name"])
        backend.update((await parse_body(request, UpdateBackendDetails)).wire())
        self._save(lb)
        return self._work_request(request, lb["id"], "UpdateBackend")

    async def delete_backend(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        bs = self._bs(lb, request.path_params["bs"])
        backend = self._backend(bs, request.path_params["name"])
        bs["backends"].remove(backend)
        self._stop_checker((lb["id"], bs["name"], backend["name"]))
        self._save(lb)
        return self._work_request(request, lb["id"], "DeleteBackend")

    async def backend_health(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        bs = self._bs(lb, request.path_params["bs"])
        backend = self._backend(bs, request.path_params["name"])
        status, result = self.backend_status(lb["id"], bs["name"], backend["name"])
        return json_response(request, {"status": status, "healthCheckResults": [
            {"ipAddress": "127.0.0.1", "timestamp": rfc3339(now()),
             "healthCheckStatus": result}]})

    async def backend_set_health(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        bs = self._bs(lb, request.path_params["bs"])
        by_name = {b["name"]: self.backend_status(lb["id"], bs["name"], b["name"])[0]
                   for b in bs["backends"]}
        status = backend_set_status(by_name.values())
        if not lb["listeners"]:
            status = "UNKNOWN"  # OCI: no listener attached

        def named(wanted: str) -> list[str]:
            return [n for n, s in by_name.items() if s == wanted]

        return json_response(request, {
            "status": status, "warningStateBackendNames": [],
            "criticalStateBackendNames": named("CRITICAL"),
            "unknownStateBackendNames": named("UNKNOWN"),
            "totalBackendCount": len(by_name)})

    # -- work requests --------------------------------------------------------------------

    async def get_work_request(self, request: Request) -> Response:
        wr = self.ctx.store.get(WORK_REQUEST, request.path_params["id"])
        if wr is None:
            raise not_found("work request")
        return json_response(request, wr)

    async def list_work_requests(self, request: Request) -> Response:
        lb = self._lb(request.path_params["id"])
        return paginated(request, self.ctx.store.find(WORK_REQUEST, parent=lb["id"]))

    async def aclose(self) -> None:
        for key in list(self.checkers):
            self._stop_checker(key)
        for listener in self.listeners.values():
            await listener.stop()
        self.listeners.clear()

    def routes(self) -> list[Route]:
        lb = V + "/loadBalancers/{id}"
        bs = lb + "/backendSets/{bs}"
        be = bs + "/backends/{name}"
        return [
            Route(V + "/loadBalancers", self.create_lb, methods=["POST"]),
            Route(V + "/loadBalancers", self.list_lbs, methods=["GET"]),
            Route(lb, self.get_lb, methods=["GET"]),
            Route(lb, self.delete_lb, methods=["DELETE"]),
            Route(lb + "/backendSets", self.create_backend_set, methods=["POST"]),
            Route(lb + "/backendSets", self.list_backend_sets, methods=["GET"]),
            Route(lb + "/listeners", self.create_listener, methods=["POST"]),
            Route(lb + "/workRequests", self.list_work_requests, methods=["GET"]),
            Route(bs, self.get_backend_set, methods=["GET"]),
            Route(bs + "/health", self.backend_set_health, methods=["GET"]),
            Route(bs + "/backends", self.create_backend, methods=["POST"]),
            Route(bs + "/backends", self.list_backends, methods=["GET"]),
            Route(be, self.get_backend, methods=["GET"]),
            Route(be, self.update_backend, methods=["PUT"]),
            Route(be, self.delete_backend, methods=["DELETE"]),
            Route(be + "/health", self.backend_health, methods=["GET"]),
            Route(V + "/loadBalancerWorkRequests/{id}", self.get_work_request, methods=["GET"]),
        ]


