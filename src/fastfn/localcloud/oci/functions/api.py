"""Functions: applications and functions (management API) and invoke, on the local Fn platform.

Both API versions are served: 20260325 (oci >= 2.187, `sourceDetails`) and 20181201
(older SDKs and the fn CLI, `image`/`imageDigest` at the top level). A function stores
`sourceDetails` and is rendered in the shape of the version asked for.

Invoke runs the function's image (see images.py) on the local Fn platform, with the
function and application config as environment and resource principal credentials that
the oci SDK's `get_resource_principals_signer()` accepts (see principals.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.auth import TokenAuthority
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import (
    REQUEST_ID_HEADER,
    OCIError,
    conflict,
    invalid,
    missing,
    not_found,
    request_id,
)
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.invoke import InvokeFailure
from fastfn.localcloud.oci.core.listing import (
    drop_none,
    filter_by,
    paginated,
    sort_items,
    summary,
)
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.functions.models import (
    _HOP_HEADERS,
    API_VERSIONS,
    APPLICATION,
    FUNCTION,
    MAX_BODY_BYTES,
    NEW_API,
    CreateApplicationDetails,
    SourceDetails,
    TraceConfig,
    UpdateApplicationDetails,
    create_model,
    update_model,
)
from fastfn.localcloud.oci.functions.runner import FunctionRunner
from fastfn.localcloud.oci.functions.workrequests import WorkRequests
from fastfn.localcloud.oci.images import ImageStore

log = logging.getLogger("fastfn.localcloud.oci.functions")



class Functions(FunctionRunner, WorkRequests):
    """The management API (applications, functions, work requests) and invoke."""

    def __init__(self, ctx: CloudContext, images: ImageStore, tokens: TokenAuthority,
                 subnet_ids: Collection[str], max_instances: int = 2) -> None:
        super().__init__(ctx, images, tokens, max_instances)
        self.subnet_ids = subnet_ids


    # -- rendering -----------------------------------------------------------------------

    def _render_function(self, fn: dict[str, Any], version: str) -> dict[str, Any]:
        body = {k: v for k, v in fn.items() if v is not None and not k.startswith("_")}
        source = fn["sourceDetails"]
        if version == "20181201":
            body.pop("sourceDetails")
            body["image"] = source["image"]
            if source.get("imageDigest"):
                body["imageDigest"] = source["imageDigest"]
        body["invokeEndpoint"] = self.ctx.endpoint
        return body

    @staticmethod
    def _version(request: Request) -> str:
        version = request.path_params["version"]
        if version not in API_VERSIONS:
            raise not_found()
        return version

    # -- applications ----------------------------------------------------------------------

    def _application(self, app_id: str) -> dict[str, Any]:
        app = self.ctx.store.get(APPLICATION, app_id)
        if app is None:
            raise not_found("application")
        return app


    async def create_application(self, request: Request) -> Response:
        self._version(request)
        details = await parse_body(request, CreateApplicationDetails)
        if not self.ctx.compartment_exists(details.compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {details.compartment_id} not found.")
        unknown = [s for s in details.subnet_ids if s not in self.subnet_ids]
        if unknown:
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Subnet {unknown[0]} not found.")
        stamp = rfc3339(now())
        app = {
            "id": ocid("fnapp", self.ctx.identity.region),
            "compartmentId": details.compartment_id, "displayName": details.display_name,
            "lifecycleState": "ACTIVE", "config": details.config or {},
            "subnetIds": details.subnet_ids, "shape": details.shape,
            "networkSecurityGroupIds": details.network_security_group_ids or [],
            "syslogUrl": details.syslog_url,
            "traceConfig": (details.trace_config or TraceConfig()).wire(),
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {},
            "imagePolicyConfig": details.image_policy_config,
            "timeCreated": stamp, "timeUpdated": stamp,
        }
        with self.ctx.store.transaction() as store:
            if any(a["displayName"] == details.display_name
                   for a in store.find(APPLICATION, parent=details.compartment_id)):
                raise conflict(f"An application named {details.display_name!r} already "
                               "exists in this compartment.")
            store.put(APPLICATION, app["id"], app, parent=details.compartment_id,
                      name=details.display_name)
        work = self._work_request("CREATE_APPLICATION", app["compartmentId"], "application",
                                  "CREATED", app["id"])
        return json_response(request, drop_none(app), headers={"etag": app["timeUpdated"],
                                                            "opc-work-request-id": work})


    async def get_application(self, request: Request) -> Response:
        self._version(request)
        app = self._application(request.path_params["id"])
        return json_response(request, drop_none(app), headers={"etag": app["timeUpdated"]})


    async def list_applications(self, request: Request) -> Response:
        self._version(request)
        q = request.query_params
        compartment = q.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        apps = filter_by(self.ctx.store.find(APPLICATION, parent=compartment), q,
                         _LIST_FILTERS)
        summary_keys = ("id", "compartmentId", "displayName", "lifecycleState", "subnetIds",
                        "shape", "networkSecurityGroupIds", "traceConfig", "freeformTags",
                        "definedTags", "timeCreated", "timeUpdated", "imagePolicyConfig")
        items = [summary(a, summary_keys) for a in sort_items(request, apps)]
        return paginated(request, items)


    async def update_application(self, request: Request) -> Response:
        version = self._version(request)
        details = await parse_body(request, UpdateApplicationDetails)
        with self.ctx.store.transaction() as store:
            app = self._application(request.path_params["id"])
            _check_if_match(request, app["timeUpdated"])
            app.update(details.model_dump(mode="json", by_alias=True, exclude_none=True))
            app["timeUpdated"] = rfc3339(now())
            store.put(APPLICATION, app["id"], app, parent=app["compartmentId"],
                      name=app["displayName"])
        await self._stop_functions_of(app["id"])  # new config: new instances
        work = self._work_request("UPDATE_APPLICATION", app["compartmentId"], "application",
                                  "UPDATED", app["id"])
        return self._changed(request, version, drop_none(app), work, app["timeUpdated"])


    async def delete_application(self, request: Request) -> Response:
        version = self._version(request)
        with self.ctx.store.transaction() as store:
            app = self._application(request.path_params["id"])
            _check_if_match(request, app["timeUpdated"])
            if store.find(FUNCTION, parent=app["id"]):
                raise conflict("Cannot delete an application that has functions.")
            store.delete(APPLICATION, app["id"])
        work = self._work_request("DELETE_APPLICATION", app["compartmentId"], "application",
                                  "DELETED", app["id"])
        return self._changed(request, version, None, work)


    async def _pin_digest(self, source: SourceDetails, shape: str) -> dict[str, Any]:
        # Like the real service, a function is pinned to the digest its tag has at
        # create/update time when the image is known; an image in the registry with no
        # manifest for the application's shape is refused then, as OCI refuses it at
        # deploy time (PLATFORM_FACTS §4). One not (yet) in the registry is accepted: its
        # invoke fails to pull. The registry is asked from a worker thread, outside any
        # store transaction.
        details = source.wire()
        record = self.images.resolve(source.image, source.image_digest)
        if record is not None:
            details.setdefault("imageDigest", record.digest)
            return details
        if self.registry is not None and self.registry.handles(source.image):
            from fastfn.localcloud.oci.functions.resolve import (
                SHAPE_ARCHITECTURES,
                PullFailure,
            )

            try:
                resolved = await asyncio.to_thread(self.registry.resolve, source.image,
                                                   source.image_digest, shape)
            except PullFailure as exc:
                offered = await asyncio.to_thread(self.registry.architectures,
                                                  source.image, source.image_digest)
                if offered and not set(offered) & set(SHAPE_ARCHITECTURES.get(shape, ())):
                    arch = offered[0] if len(offered) == 1 else ", ".join(offered)
                    raise invalid(f"Function's image architecture '{arch}' is incompatible "
                                  f"with the application's shape type '{shape}'") from None
                log.info("image not pinned at create/update: %s", exc)
                return details
            details.setdefault("imageDigest", resolved.top_digest)
        return details

    async def create_function(self, request: Request) -> Response:
        version = self._version(request)
        details = await parse_body(request, create_model(version))
        image, digest = details.image_change()
        assert image is not None  # required by both create models
        source = SourceDetails(image=image, image_digest=digest)
        application_id = getattr(details, "application_id")  # noqa: B009 - both models
        display_name: str = getattr(details, "display_name")  # noqa: B009
        app = self.ctx.store.get(APPLICATION, application_id)
        if app is None:
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Application {application_id} not found.")
        pinned = await self._pin_digest(source, app["shape"])
        stamp = rfc3339(now())
        fn = {
            "id": ocid("fnfunc", self.ctx.identity.region),
            "displayName": display_name, "lifecycleState": "ACTIVE",
            "applicationId": app["id"], "compartmentId": app["compartmentId"],
            "sourceDetails": pinned, "shape": app["shape"],
            "memoryInMBs": details.memory_in_mbs, "config": details.config or {},
            "timeoutInSeconds": details.timeout_in_seconds or 30,
            "detachedModeTimeoutInSeconds": details.detached_mode_timeout_in_seconds,
            "provisionedConcurrencyConfig": details.provisioned_concurrency_config
            or {"strategy": "NONE"},
            "failureDestination": details.failure_destination,
            "successDestination": details.success_destination,
            "traceConfig": (details.trace_config or TraceConfig()).wire(),
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {},
            "timeCreated": stamp, "timeUpdated": stamp,
        }
        with self.ctx.store.transaction() as store:
            if any(f["displayName"] == display_name
                   for f in store.find(FUNCTION, parent=app["id"])):
                raise conflict(f"A function named {display_name!r} already exists "
                               "in this application.")
            store.put(FUNCTION, fn["id"], fn, parent=app["id"], name=display_name)
        work = self._work_request("CREATE_FUNCTION", fn["compartmentId"], "function",
                                  "CREATED", fn["id"])
        return json_response(request, self._render_function(fn, version),
                             headers={"etag": fn["timeUpdated"], "opc-work-request-id": work})


    async def get_function(self, request: Request) -> Response:
        version = self._version(request)
        fn = self.function(request.path_params["id"])
        return json_response(request, self._render_function(fn, version),
                             headers={"etag": fn["timeUpdated"]})


    async def list_functions(self, request: Request) -> Response:
        version = self._version(request)
        app_id = request.query_params.get("applicationId")
        if not app_id:
            raise missing("applicationId")
        fns = filter_by(self.ctx.store.find(FUNCTION, parent=app_id), request.query_params,
                        _LIST_FILTERS)
        items = []
        for fn in sort_items(request, fns):
            body = self._render_function(fn, version)
            body.pop("config", None)  # summaries carry no config
            items.append(body)
        return paginated(request, items)


    async def update_function(self, request: Request) -> Response:
        version = self._version(request)
        details = await parse_body(request, update_model(version))
        image, digest = details.image_change()
        pinned = None
        if image is not None:  # resolved before the transaction: the registry may be slow
            current = self.function(request.path_params["id"])
            _check_if_match(request, current["timeUpdated"])
            pinned = await self._pin_digest(SourceDetails(image=image, image_digest=digest),
                                            current["shape"])
        with self.ctx.store.transaction() as store:
            fn = self.function(request.path_params["id"])
            _check_if_match(request, fn["timeUpdated"])
            if pinned is not None:
                fn["sourceDetails"] = pinned
            elif digest is not None:  # a new digest for the same image
                fn["sourceDetails"] = {**fn["sourceDetails"], "imageDigest": digest}
            fn.update(details.settings())
            fn["timeUpdated"] = rfc3339(now())
            store.put(FUNCTION, fn["id"], fn, parent=fn["applicationId"],
                      name=fn["displayName"])
        await self.platform_stop(fn["id"])
        work = self._work_request("UPDATE_FUNCTION", fn["compartmentId"], "function",
                                  "UPDATED", fn["id"])
        return self._changed(request, version, self._render_function(fn, version), work,
                             fn["timeUpdated"])


    async def delete_function(self, request: Request) -> Response:
        version = self._version(request)
        with self.ctx.store.transaction() as store:
            fn = self.function(request.path_params["id"])
            _check_if_match(request, fn["timeUpdated"])
            store.delete(FUNCTION, fn["id"])
        await self.platform_stop(fn["id"])
        work = self._work_request("DELETE_FUNCTION", fn["compartmentId"], "function",
                                  "DELETED", fn["id"])
        return self._changed(request, version, None, work)


    async def invoke(self, request: Request) -> Response:
        self._version(request)
        fn_id = request.path_params["id"]
        fn = self.function(fn_id)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise OCIError(413, "PayloadTooLarge", "The request body is over the 6 MB limit.")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise OCIError(413, "PayloadTooLarge", "The request body is over the 6 MB limit.")
        rid = request_id(request)
        intent = request.headers.get("fn-intent", "httprequest").lower()
        if intent not in ("httprequest", "cloudevent"):
            raise invalid("fn-intent must be httprequest or cloudevent.")
        invoke_type = request.headers.get("fn-invoke-type", "sync").lower()
        if invoke_type not in ("sync", "detached"):
            raise invalid("fn-invoke-type must be sync or detached.")
        headers = [("Fn-Intent", intent), ("Fn-Invoke-Type", invoke_type),
                   ("Opc-Request-Id", rid),
                   ("Content-Type", request.headers.get("content-type",
                                                        "application/octet-stream"))]
        if invoke_type == "detached":
            try:
                await self.spec(fn)  # an image that cannot be pulled fails the call itself
            except InvokeFailure as exc:
                raise OCIError(exc.status, exc.code, exc.message) from None
            timeout = fn.get("detachedModeTimeoutInSeconds")
            task = asyncio.create_task(self._detached(fn_id, body, headers, timeout))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return empty_response(request, 202)
        try:
            result = await self.run(fn_id, body, headers)
        except InvokeFailure as exc:
            raise OCIError(exc.status, exc.code, exc.message) from None
        out = {name: value for name, value in result.headers
               if name.lower() not in _HOP_HEADERS}
        out[REQUEST_ID_HEADER] = rid
        return Response(result.body, status_code=200, headers=out)


    def routes(self) -> list[Route]:
        base = "/{version}"
        return [
            Route(base + "/applications", self.create_application, methods=["POST"]),
            Route(base + "/applications", self.list_applications, methods=["GET"]),
            Route(base + "/applications/{id}", self.get_application, methods=["GET"]),
            Route(base + "/applications/{id}", self.update_application, methods=["PUT"]),
            Route(base + "/applications/{id}", self.delete_application, methods=["DELETE"]),
            Route(base + "/functions", self.create_function, methods=["POST"]),
            Route(base + "/functions", self.list_functions, methods=["GET"]),
            Route(base + "/functions/{id}", self.get_function, methods=["GET"]),
            Route(base + "/functions/{id}", self.update_function, methods=["PUT"]),
            Route(base + "/functions/{id}", self.delete_function, methods=["DELETE"]),
            Route(base + "/functions/{id}/actions/invoke", self.invoke, methods=["POST"]),
            Route(f"/{NEW_API}/workRequests", self.list_work_requests, methods=["GET"]),
            Route(f"/{NEW_API}/workRequests/{{id}}", self.get_work_request, methods=["GET"]),
            Route(f"/{NEW_API}/workRequests/{{id}}/errors", self.work_request_details,
                  methods=["GET"]),
            Route(f"/{NEW_API}/workRequests/{{id}}/logs", self.work_request_details,
                  methods=["GET"]),
        ]


_LIST_FILTERS = {"displayName": "displayName", "id": "id", "lifecycleState": "lifecycleState"}


def _check_if_match(request: Request, etag: str) -> None:
    given = request.headers.get("if-match")
    if given is not None and given.strip('"') != etag:
        raise OCIError(412, "NoEtagMatch", "The If-Match ETag does not match the resource.")
