"""Authorization: every signed request checked against the tenancy's policies.

Each service lists its operations in its own `permissions.py`: per route (method and path
template) the OCI operation, the resource type, the permissions it needs and how to find
the target (the compartment it lives in and `target.*` variables such as the bucket or
secret name). `guard()` wraps a service's routes with that check; a denial is the error
the real service gives (for most APIs 404 NotAuthorizedOrNotFound, Object Storage its own
BucketNotFound), raised before the handler runs, so nothing is read or written.

Enforcement is on when the cloud has a tenancy file; without one every signed request is
allowed (the open behaviour of a fresh local cloud). Either way each authorized operation
can be recorded (`OperationLog`) for `fastfn iam suggest`; records hold ids and names,
never bodies or secret values.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.iam.evaluate import (
    Decision,
    PolicySet,
    ResourcePrincipal,
    ServicePrincipal,
    UserPrincipal,
)
from fastfn.iam.evaluate import Principal as IamPrincipal
from fastfn.iam.evaluate import Request as IamRequest
from fastfn.localcloud.oci.core.auth import Principal
from fastfn.localcloud.oci.core.errors import OCIError, not_found
from fastfn.localcloud.oci.core.wire import load_json

log = logging.getLogger("fastfn.localcloud.oci.authz")


@dataclass(frozen=True, slots=True)
class Target:
    """What one request acts on: where it lives and the variables conditions may test."""

    compartment_id: str
    variables: Mapping[str, str] = field(default_factory=dict)
    permissions: tuple[str, ...] | None = None  # when they depend on state (PutObject)
    operation: str | None = None  # likewise (PutObject.create / .overwrite)


Resolver = Callable[[Any, Request], Awaitable[Target | None]]
Denial = Callable[[Request], OCIError]


def denied(request: Request) -> OCIError:
    return not_found()


@dataclass(frozen=True, slots=True)
class Rule:
    """One API operation: what it needs and where its target is."""

    operation: str
    resource_type: str
    permissions: tuple[str, ...]
    target: Resolver | None  # None: the operation needs no permission (GetNamespace)
    denial: Denial = denied


# -- resolvers the permission tables share -----------------------------------------------


def in_query(param: str = "compartmentId") -> Resolver:
    async def resolve(service: Any, request: Request) -> Target | None:
        value = request.query_params.get(param)
        return Target(value) if value else None  # absent: the handler's 400 MissingParameter
    return resolve


async def request_json(request: Request) -> dict[str, Any]:
    """The JSON body, read once (Starlette keeps it for the handler); {} if unusable."""
    raw = await request.body()
    try:
        data = load_json(raw or b"{}")
    except OCIError:
        return {}
    return data if isinstance(data, dict) else {}


def in_body(name: str = "compartmentId") -> Resolver:
    async def resolve(service: Any, request: Request) -> Target | None:
        value = (await request_json(request)).get(name)
        return Target(value) if isinstance(value, str) and value else None
    return resolve


def stored(kind: str, param: str = "id",
           variables: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> Resolver:
    """The target is a stored resource named by a path parameter; missing: the handler's
    own 404 (which is what a denial looks like anyway)."""
    async def resolve(service: Any, request: Request) -> Target | None:
        doc = service.ctx.store.get(kind, request.path_params.get(param, ""))
        if doc is None or not doc.get("compartmentId"):
            return None
        return Target(doc["compartmentId"], variables(doc) if variables else {})
    return resolve


# -- the recorder ------------------------------------------------------------------------


class OperationLog:
    """Authorized operations as JSON lines, for `fastfn iam suggest`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, principal: Principal, rule: Rule, target: Target, operation: str,
            permissions: tuple[str, ...], allowed: bool) -> None:
        entry = {
            "principal": {"kind": principal.kind, "id": principal.id,
                          "type": principal.resource_type,
                          "compartmentId": principal.compartment_id},
            "operation": operation, "resourceType": rule.resource_type,
            "permissions": list(permissions), "compartmentId": target.compartment_id,
            "variables": dict(target.variables), "allowed": allowed,
        }
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a") as out:
            out.write(line)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


def read_operations(path: Path) -> list[dict[str, Any]]:
    return OperationLog(path).read()


# -- the authorizer ----------------------------------------------------------------------


@dataclass
class Identities:
    """What the authorizer knows of the tenancy: policies, and users' groups."""

    policies: PolicySet
    user_groups: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]  # user -> names, ids
    admins: frozenset[str] = frozenset()  # users always allowed (the tenancy administrator)


class Authorizer:
    def __init__(self, identities: Identities | None = None,
                 recorder: OperationLog | None = None) -> None:
        self.identities = identities  # None: not enforcing
        self.recorder = recorder

    @property
    def enforcing(self) -> bool:
        return self.identities is not None

    @property
    def active(self) -> bool:
        return self.identities is not None or self.recorder is not None

    def iam_principal(self, principal: Principal) -> IamPrincipal:
        if principal.kind == "user":
            names, ids = (self.identities.user_groups.get(principal.id, ((), ()))
                          if self.identities else ((), ()))
            return UserPrincipal(principal.id, names, ids)
        return ResourcePrincipal(principal.resource_type or "fnfunc", principal.id,
                                 principal.compartment_id or "")

    def decide(self, principal: IamPrincipal, operation: str, permissions: tuple[str, ...],
               compartment_id: str, variables: Mapping[str, str]) -> Decision:
        if self.identities is None or (isinstance(principal, UserPrincipal)
                                       and principal.id in self.identities.admins):
            return Decision(True)
        request = IamRequest(operation, permissions, compartment_id,
                             {"target.compartment.id": compartment_id, **variables})
        return self.identities.policies.authorize(principal, request)

    def service_allows(self, service: str, operation: str, permissions: tuple[str, ...],
                       compartment_id: str, variables: Mapping[str, str]) -> Decision:
        """A check for an OCI service acting on its own (Functions pulling an image)."""
        return self.decide(ServicePrincipal(service), operation, permissions, compartment_id,
                           variables)

    async def check(self, rule: Rule, service: Any, request: Request) -> None:
        if rule.target is None or not self.active:
            return
        principal = request.scope.get("state", {}).get("principal")
        if not isinstance(principal, Principal):
            return  # unsigned routes (health) never reach a guarded endpoint
        target = await rule.target(service, request)
        if target is None:
            return
        permissions = target.permissions or rule.permissions
        operation = target.operation or rule.operation
        decision = self.decide(self.iam_principal(principal), operation.split(".")[0],
                               permissions, target.compartment_id, target.variables)
        if self.recorder is not None:
            self.recorder.add(principal, rule, target, operation, permissions,
                              decision.allowed)
        if not decision.allowed:
            log.info("request not authorized", extra={
                "operation": operation, "principal": principal.id,
                "missing": ",".join(decision.missing)})
            raise rule.denial(request)


def guard(routes: list[Route], table: Mapping[str, Rule], service: Any,
          authorizer: Authorizer) -> list[Route]:
    """The routes with each endpoint checked first. `table` keys are "METHOD path" as the
    routes declare them; a GET rule also covers HEAD unless HEAD has its own."""
    out: list[Route] = []
    for route in routes:
        methods = sorted(route.methods or ())
        rules = {m: table.get(f"{m} {route.path}") or (
            table.get(f"GET {route.path}") if m == "HEAD" else None) for m in methods}
        missing = [m for m in methods if rules[m] is None and m != "HEAD"]
        if missing:
            raise KeyError(f"no permission rule for {missing[0]} {route.path}")
        out.append(Route(route.path, _checked(route.endpoint, rules, service, authorizer),
                         methods=methods, name=route.name))
    return out


def _checked(endpoint: Callable[[Request], Awaitable[Response]],
             rules: Mapping[str, Rule | None], service: Any,
             authorizer: Authorizer) -> Callable[[Request], Awaitable[Response]]:
    async def checked(request: Request) -> Response:
        rule = rules.get(request.method)
        if rule is not None:
            await authorizer.check(rule, service, request)
        return await endpoint(request)
    checked.__name__ = getattr(endpoint, "__name__", "endpoint")
    return checked
