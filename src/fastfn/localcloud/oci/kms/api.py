"""KMS routes: the vault API (ListVaults, GetVault) and a vault's management API (ListKeys,
GetKey, ListKeyVersions, GetKeyVersion), read-only over the tenancy's vaults and keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.errors import invalid, missing, not_found
from fastfn.localcloud.oci.core.listing import paginated, sort_items
from fastfn.localcloud.oci.core.wire import json_response
from fastfn.localcloud.oci.kms.backend import Kms
from fastfn.localcloud.oci.kms.models import PROTECTION_MODES, key_summary, key_version

V = "/20180608"
_SUMMARY = ("compartmentId", "cryptoEndpoint", "definedTags", "displayName", "freeformTags",
            "id", "lifecycleState", "managementEndpoint", "timeCreated", "vaultType")


def _compartment(request: Request) -> str:
    compartment = request.query_params.get("compartmentId")
    if not compartment:
        raise missing("compartmentId")
    return compartment


def _sorted(request: Request, items: list[dict[str, object]]) -> list[dict[str, object]]:
    # KMS sorts by TIMECREATED or DISPLAYNAME (upper case on the wire).
    by = (request.query_params.get("sortBy") or "TIMECREATED").upper()
    if by not in ("TIMECREATED", "DISPLAYNAME"):
        raise invalid("sortBy must be TIMECREATED or DISPLAYNAME.")
    return sort_items(request, items, default_by=by)


class KmsApi:
    def __init__(self, kms: Kms) -> None:
        self.kms = kms
        self.ctx = kms.ctx

    async def list_vaults(self, request: Request) -> Response:
        vaults = self.kms.vaults(_compartment(request))
        items = [{k: v[k] for k in _SUMMARY} for v in _sorted(request, vaults)]
        return paginated(request, items)

    async def get_vault(self, request: Request) -> Response:
        vault = self.kms.vault(request.path_params["id"])
        return json_response(request, vault, headers={"etag": vault["id"]})

    async def list_keys(self, request: Request) -> Response:
        keys = self.kms.keys(_compartment(request))
        mode = request.query_params.get("protectionMode")
        if mode:
            if mode not in PROTECTION_MODES:
                raise invalid("protectionMode must be HSM or SOFTWARE.")
            keys = [k for k in keys if k["protectionMode"] == mode]
        algorithm = request.query_params.get("algorithm")
        if algorithm:
            keys = [k for k in keys if k["keyShape"]["algorithm"] == algorithm]
        return paginated(request, [key_summary(k) for k in _sorted(request, keys)])

    async def get_key(self, request: Request) -> Response:
        key = self.kms.key(request.path_params["id"])
        return json_response(request, key, headers={"etag": key["id"]})

    async def list_key_versions(self, request: Request) -> Response:
        key = self.kms.key(request.path_params["id"])
        return paginated(request, [key_version(key)])

    async def get_key_version(self, request: Request) -> Response:
        key = self.kms.key(request.path_params["id"])
        if request.path_params["version"] != key["currentKeyVersion"]:
            raise not_found("key version")
        return json_response(request, key_version(key))

    def routes(self) -> list[Route]:
        return [
            Route(V + "/vaults", self.list_vaults, methods=["GET"]),
            Route(V + "/vaults/{id}", self.get_vault, methods=["GET"]),
            Route(V + "/keys", self.list_keys, methods=["GET"]),
            Route(V + "/keys/{id}", self.get_key, methods=["GET"]),
            Route(V + "/keys/{id}/keyVersions", self.list_key_versions, methods=["GET"]),
            Route(V + "/keys/{id}/keyVersions/{version}", self.get_key_version,
                  methods=["GET"]),
        ]
