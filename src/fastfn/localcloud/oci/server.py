"""The local cloud's HTTP server: one Starlette app serving every service's REST API.

Services are told apart by path, as their API versions and resource names do not clash
(`/n/...` Object Storage, `/20180608/secrets` Vault, `/20180608/{vaults,keys}` KMS (every
vault's management endpoint is this server), `/20190301/secretbundles` Secrets,
`/20181201|20260325/{applications,functions}` Functions, `/20181201/rules` Events,
`/20170115/loadBalancers` Load Balancer, `/20200531/...` Logging, `/20190909/search`
Logging Search,
`/20160918/...` Identity, Virtual Network, Compute and Container Registry;
`/v2/...` the registry's manifests). Every request except the health check must carry
a valid OCI HTTP signature.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastfn.localcloud.asgi import read_body
from fastfn.localcloud.oci.artifacts import permissions as artifacts_rules
from fastfn.localcloud.oci.artifacts.api import ArtifactsApi
from fastfn.localcloud.oci.artifacts.registry import RegistryApi
from fastfn.localcloud.oci.compute import permissions as compute_rules
from fastfn.localcloud.oci.compute.api import InstanceConfigurations
from fastfn.localcloud.oci.compute.instances import Instances
from fastfn.localcloud.oci.computemanagement import permissions as pool_rules
from fastfn.localcloud.oci.computemanagement.api import InstancePools
from fastfn.localcloud.oci.core.auth import (
    ApiKey,
    SignatureVerifier,
    TokenAuthority,
    content_sha256,
    fingerprint,
    load_or_create_key,
)
from fastfn.localcloud.oci.core.authz import Authorizer, OperationLog, guard
from fastfn.localcloud.oci.core.context import CloudContext, CloudIdentity
from fastfn.localcloud.oci.core.errors import (
    OCIError,
    UnexpectedErrors,
    error_response,
    handle_oci_error,
    handle_unexpected,
    not_authenticated,
    not_found,
    request_id,
)
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.core.store import open_checked
from fastfn.localcloud.oci.events import permissions as events_rules
from fastfn.localcloud.oci.events.api import Events
from fastfn.localcloud.oci.functions import permissions as functions_rules
from fastfn.localcloud.oci.functions.api import Functions
from fastfn.localcloud.oci.functions.pull import ImagePullCheck
from fastfn.localcloud.oci.identity import permissions as identity_rules
from fastfn.localcloud.oci.identity.api import IdentityApi
from fastfn.localcloud.oci.identity.policies import CreatedIam, build_identities
from fastfn.localcloud.oci.images import ImageStore
from fastfn.localcloud.oci.kms import permissions as kms_rules
from fastfn.localcloud.oci.kms.api import KmsApi
from fastfn.localcloud.oci.kms.backend import Kms
from fastfn.localcloud.oci.kms.models import secret_keys
from fastfn.localcloud.oci.loadbalancer import permissions as loadbalancer_rules
from fastfn.localcloud.oci.loadbalancer.api import LoadBalancers
from fastfn.localcloud.oci.logging import permissions as logging_rules
from fastfn.localcloud.oci.logging.api import LoggingApi
from fastfn.localcloud.oci.logging.backend import Logging
from fastfn.localcloud.oci.network import permissions as network_rules
from fastfn.localcloud.oci.network.api import NetworkApi
from fastfn.localcloud.oci.objectstorage import permissions as objectstorage_rules
from fastfn.localcloud.oci.objectstorage.api import ObjectStorage
from fastfn.localcloud.oci.secrets import permissions as secrets_rules
from fastfn.localcloud.oci.secrets.api import Secrets
from fastfn.localcloud.oci.tenancy import Tenancy

log = logging.getLogger("fastfn.localcloud.oci")

HEALTH_PATH = "/_fastfn/health"
# Signed bodies are buffered to check x-content-sha256; the largest is a function
# invoke (6 MB), anything beyond that is refused before reading it all.
MAX_SIGNED_BODY = 6 * 1024 * 1024 + 64 * 1024


class SignatureMiddleware:
    """Rejects unsigned or wrongly signed requests with 401 NotAuthenticated."""

    def __init__(self, app: ASGIApp, verifier: SignatureVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        target = scope.get("raw_path") or scope["path"].encode()
        target_text = target.decode("latin-1")
        if scope["query_string"]:
            target_text += "?" + scope["query_string"].decode("latin-1")
        try:
            principal, signed = self.verifier.verify(scope["method"], target_text, headers)
            if "x-content-sha256" in signed:
                body = await _read_limited(receive, headers)
                if content_sha256(body) != headers["x-content-sha256"]:
                    raise not_authenticated("x-content-sha256 does not match the body.")
                receive = _replay(body)
        except OCIError as exc:
            rid = headers.get("opc-request-id") or request_id()
            log.info("request refused", extra={"status": exc.status, "code": exc.code,
                                               "path": scope["path"]})
            await error_response(exc, rid)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


async def _read_limited(receive: Receive, headers: dict[str, str]) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_SIGNED_BODY:
        raise OCIError(413, "PayloadTooLarge", "The request body is too large.")
    body = await read_body(receive, MAX_SIGNED_BODY)
    if body is None:
        raise OCIError(413, "PayloadTooLarge", "The request body is too large.")
    return body


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, behave like a connection that stays open until the response.
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = not_found()
    elif exc.status_code == 405:
        error = OCIError(405, "MethodNotAllowed", "The method is not allowed on this resource.")
    else:
        error = OCIError(exc.status_code, "InvalidParameter", str(exc.detail))
    return error_response(error, request_id(request))


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class CloudServices:
    """Everything one running local cloud holds: identity, keys, store and services."""

    def __init__(self, state_dir: Path, tenancy_file: Path | None = None,
                 region: str | None = None, event_retry_delays: tuple[float, ...] | None = None,
                 max_instances: int = 2, enforce: bool | None = None,
                 record_operations: bool = False) -> None:
        self.state_dir = state_dir
        self.layout = layout = StateLayout(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.identity = CloudIdentity.load_or_create(state_dir, region)
        self.api_key = load_or_create_key(layout.api_key)
        self.token_key = load_or_create_key(layout.token_key)
        self.fingerprint = fingerprint(self.api_key.public_key())
        self.store = open_checked(layout.db, (layout.objects,))
        self.ctx = CloudContext(state_dir, self.identity, self.store)
        self.tokens = TokenAuthority(self.token_key, self.identity.tenancy_id)
        self.verifier = SignatureVerifier(self.tokens)
        self.verifier.add_key(ApiKey(self.identity.tenancy_id, self.identity.user_id,
                                     self.fingerprint, self.api_key.public_key()))
        if tenancy_file is None and layout.tenancy_file.exists():
            tenancy_file = layout.tenancy_file
        self.tenancy = Tenancy.load(self.ctx, tenancy_file)
        for user_key in self.tenancy.api_keys():
            self.verifier.add_key(user_key)
        # Policies are enforced when a tenancy file was loaded (or `enforce` says so).
        self.enforcing = self.tenancy.loaded if enforce is None else enforce
        self.authorizer = Authorizer(
            recorder=OperationLog(layout.operations) if record_operations else None)
        self.created_iam = CreatedIam(self.tenancy, self._policies_changed)
        self._policies_changed()
        self.images = ImageStore(self.store)
        self.objectstorage = ObjectStorage(self.ctx)
        # Built in dependency order, each given what it reads from the others: the
        # tenancy's vaults and subnets, the functions that events invoke.
        self.kms = Kms(self.ctx, self.tenancy.by_kind["vault"], self.tenancy.by_kind["key"])
        self.secrets = Secrets(self.ctx, vault_ids=self.tenancy.vault_ids,
                               keys=secret_keys(self.tenancy.by_kind["key"]))
        self.functions = Functions(self.ctx, self.images, self.tokens,
                                   subnet_ids=self.tenancy.subnet_ids,
                                   max_instances=max_instances)
        self.events = Events(self.ctx, self.functions, retry_delays=event_retry_delays)
        self.instance_configurations = InstanceConfigurations(self.ctx)
        self.load_balancers = LoadBalancers(self.ctx)
        self.instances = Instances(self.ctx, self.images)
        self.instance_pools = InstancePools(self.ctx, self.instance_configurations,
                                            self.instances, self.load_balancers)
        self.functions.pull_check = ImagePullCheck(self.tenancy, self.authorizer)

    def _policies_changed(self) -> None:
        if self.enforcing:
            self.authorizer.identities = build_identities(self.tenancy)

    def routes(self) -> list[Route]:
        """Every service's routes, each checked against its permission table first."""
        identity = IdentityApi(self.tenancy, self.created_iam)
        network = NetworkApi(self.tenancy)
        artifacts = ArtifactsApi(self.tenancy, self.images)
        kms = KmsApi(self.kms)
        logging_api = LoggingApi(Logging(self.ctx))
        services: list[tuple[Any, Any, dict[str, Any]]] = [
            (self.objectstorage, self.objectstorage.routes(), objectstorage_rules.RULES),
            (self.secrets, self.secrets.routes(), secrets_rules.RULES),
            (kms, kms.routes(), kms_rules.RULES),
            (logging_api, logging_api.routes(), logging_rules.RULES),
            (self.functions, self.functions.routes(), functions_rules.RULES),
            (self.events, self.events.routes(), events_rules.RULES),
            (self.instance_configurations, self.instance_configurations.routes(),
             compute_rules.CONFIGURATION_RULES),
            (self.load_balancers, self.load_balancers.routes(), loadbalancer_rules.RULES),
            (self.instances, self.instances.routes(), compute_rules.INSTANCE_RULES),
            (self.instance_pools, self.instance_pools.routes(), pool_rules.RULES),
            (identity, identity.routes(), identity_rules.RULES),
            (network, network.routes(), network_rules.RULES),
            (artifacts, artifacts.routes(), artifacts_rules.RULES),
        ]
        routes = [Route(HEALTH_PATH, _health, methods=["GET"])]
        for service, service_routes, table in services:
            routes.extend(guard(service_routes, table, service, self.authorizer))
        registry = RegistryApi(self.images, lambda: self.functions.registry.registry
                               if self.functions.registry is not None else None)
        routes.extend(guard(registry.routes(), artifacts_rules.REGISTRY_RULES,
                            artifacts, self.authorizer))
        return routes

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
            self.events.start()
            await self.load_balancers.restore()
            self.instance_pools.start()
            try:
                yield {}
            finally:
                await self.events.aclose()
                await self.functions.aclose()
                await self.instance_pools.aclose()
                await self.instances.aclose()
                await self.load_balancers.aclose()

        app = Starlette(
            routes=self.routes(),
            exception_handlers={OCIError: handle_oci_error, HTTPException: _http_exception,
                                Exception: handle_unexpected},
            lifespan=lifespan,
        )
        app.add_middleware(UnexpectedErrors)
        app.add_middleware(SignatureMiddleware, verifier=self.verifier)
        return app

    def close(self) -> None:
        self.store.close()
