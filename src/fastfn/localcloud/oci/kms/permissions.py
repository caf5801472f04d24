"""KMS operations -> permissions (Oracle's "Details for the Vault Service": vaults and
keys). Conditions may test target.vault.id and target.key.id. Denials are 404
NotAuthorizedOrNotFound, the answer for a vault or key that does not exist.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_query

V = "/20180608"


async def _vault(service: Any, request: Request) -> Target | None:
    vault_id = request.path_params.get("id", "")
    compartment = service.kms.vault_compartment(vault_id)
    if compartment is None:
        return None
    return Target(compartment, {"target.vault.id": vault_id})


async def _key(service: Any, request: Request) -> Target | None:
    key = service.kms.find_key(request.path_params.get("id", ""))
    if key is None:
        return None
    return Target(key["compartmentId"], {"target.key.id": key["id"],
                                         "target.vault.id": key["vaultId"]})


RULES: dict[str, Rule] = {
    f"GET {V}/vaults": Rule("ListVaults", "vaults", ("VAULT_INSPECT",), in_query()),
    f"GET {V}/vaults/{{id}}": Rule("GetVault", "vaults", ("VAULT_READ",), _vault),
    f"GET {V}/keys": Rule("ListKeys", "keys", ("KEY_INSPECT",), in_query()),
    f"GET {V}/keys/{{id}}": Rule("GetKey", "keys", ("KEY_READ",), _key),
    f"GET {V}/keys/{{id}}/keyVersions": Rule("ListKeyVersions", "keys", ("KEY_INSPECT",),
                                            _key),
    f"GET {V}/keys/{{id}}/keyVersions/{{version}}": Rule("GetKeyVersion", "keys",
                                                         ("KEY_READ",), _key),
}
