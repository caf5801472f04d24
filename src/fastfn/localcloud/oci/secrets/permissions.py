"""Vault secrets and Secrets (bundles) operations -> permissions (Oracle's "Details for the
Vault Service"). Conditions may test target.secret.id, target.secret.name and
target.vault.id. Reading a value (GetSecretBundle) needs only SECRET_BUNDLE_READ; a denial
is 404 NotAuthorizedOrNotFound, the same answer as for a secret that does not exist.
CreateSecret's key permissions are checked in the secret's compartment (on OCI: the key's).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query, stored
from fastfn.localcloud.oci.secrets.models import SECRET

V = "/20180608/secrets"
S = "/20190301/secretbundles"


def secret_variables(secret: dict[str, Any]) -> dict[str, str]:
    return {"target.secret.id": secret["id"], "target.secret.name": secret["secretName"],
            "target.vault.id": secret.get("vaultId", "")}


async def _by_name(service: Any, request: Request) -> Target | None:
    q = request.query_params
    found = [s for s in service.ctx.store.find(SECRET, name=q.get("secretName") or "")
             if s["vaultId"] == q.get("vaultId")]
    if not found:
        return None
    return Target(found[0]["compartmentId"], secret_variables(found[0]))


_secret = stored(SECRET, variables=secret_variables)

RULES: dict[str, Rule] = {
    f"POST {V}": Rule("CreateSecret", "secrets", ("SECRET_CREATE", "KEY_ENCRYPT",
                                                  "KEY_DECRYPT", "VAULT_CREATE_SECRET"),
                      in_body()),
    f"GET {V}": Rule("ListSecrets", "secrets", ("SECRET_INSPECT",), in_query()),
    f"GET {V}/{{id}}": Rule("GetSecret", "secrets", ("SECRET_READ",), _secret),
    f"PUT {V}/{{id}}": Rule("UpdateSecret", "secrets", ("SECRET_UPDATE",), _secret),
    f"GET {V}/{{id}}/versions": Rule("ListSecretVersions", "secrets", ("SECRET_INSPECT",),
                                     _secret),
    f"GET {V}/{{id}}/version/{{number}}": Rule("GetSecretVersion", "secrets",
                                               ("SECRET_READ",), _secret),
    f"POST {V}/{{id}}/actions/scheduleDeletion": Rule("ScheduleSecretDeletion", "secrets",
                                                      ("SECRET_DELETE",), _secret),
    f"POST {V}/{{id}}/actions/cancelDeletion": Rule("CancelSecretDeletion", "secrets",
                                                    ("SECRET_DELETE",), _secret),
    f"POST {S}/actions/getByName": Rule("GetSecretBundleByName", "secret-bundles",
                                        ("SECRET_BUNDLE_READ",), _by_name),
    f"GET {S}/{{id}}": Rule("GetSecretBundle", "secret-bundles", ("SECRET_BUNDLE_READ",),
                            _secret),
    f"GET {S}/{{id}}/versions": Rule("ListSecretBundleVersions", "secret-bundles",
                                     ("SECRET_BUNDLE_INSPECT",), _secret),
}
