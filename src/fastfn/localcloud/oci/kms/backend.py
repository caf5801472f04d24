"""KMS lookups over the tenancy's vaults and keys (plain methods; api.py adds HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import not_found


class Kms:
    def __init__(self, ctx: CloudContext, vaults: Sequence[dict[str, Any]],
                 keys: Sequence[dict[str, Any]]) -> None:
        self.ctx = ctx
        self._vaults = {v["id"]: v for v in vaults}
        self._keys = {k["id"]: k for k in keys}

    def _endpoints(self, vault: dict[str, Any]) -> dict[str, Any]:
        # One local server answers for every vault's management and crypto endpoints.
        return {**vault, "managementEndpoint": self.ctx.endpoint,
                "cryptoEndpoint": self.ctx.endpoint}

    def vault(self, vault_id: str) -> dict[str, Any]:
        vault = self._vaults.get(vault_id)
        if vault is None:
            raise not_found("vault")
        return self._endpoints(vault)

    def vaults(self, compartment_id: str) -> list[dict[str, Any]]:
        return [self._endpoints(v) for v in self._vaults.values()
                if v["compartmentId"] == compartment_id]

    def vault_compartment(self, vault_id: str) -> str | None:
        vault = self._vaults.get(vault_id)
        return vault["compartmentId"] if vault else None

    def key(self, key_id: str) -> dict[str, Any]:
        key = self._keys.get(key_id)
        if key is None:
            raise not_found("key")
        return key

    def find_key(self, key_id: str) -> dict[str, Any] | None:
        return self._keys.get(key_id)

    def keys(self, compartment_id: str) -> list[dict[str, Any]]:
        return [k for k in self._keys.values() if k["compartmentId"] == compartment_id]
