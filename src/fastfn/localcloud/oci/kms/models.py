"""KMS vaults and keys as OCI sends them (oci.key_management.models Vault, Key, KeyVersion).

Vaults and keys come from the tenancy: the cloud's own vault (`fastfn cloud config` prints
its id) with one key, and each vault of the tenancy file with the keys it lists (one named
after the vault when it lists none). Ids are derived from names, so they are stable across
restarts. A vault's managementEndpoint and cryptoEndpoint are the local server's endpoint,
filled in when they are read.
"""

from __future__ import annotations

from typing import Any

from fastfn.localcloud.oci.core.context import CloudIdentity
from fastfn.localcloud.oci.core.ids import ocid

DEFAULT_KEY_NAME = "local"
# Secrets may be encrypted only with a symmetric (AES) key that is enabled.
ALGORITHMS = ("AES", "RSA", "ECDSA")
AES_LENGTHS = (16, 24, 32)
PROTECTION_MODES = ("HSM", "SOFTWARE")


def default_key_id(identity: CloudIdentity) -> str:
    """The key of the cloud's own vault: what secrets name as keyId."""
    return ocid("key", identity.region, seed=f"{identity.vault_id}/key/{DEFAULT_KEY_NAME}")


def vault_doc(vault_id: str, compartment_id: str, name: str, stamp: str,
              tags: dict[str, Any] | None = None) -> dict[str, Any]:
    tags = tags or {}
    return {"id": vault_id, "compartmentId": compartment_id, "displayName": name,
            "lifecycleState": "ACTIVE", "vaultType": "DEFAULT", "timeCreated": stamp,
            "isPrimary": True, "isVaultReplicable": False,
            "freeformTags": tags.get("freeform_tags", {}),
            "definedTags": tags.get("defined_tags", {})}


class KeySpecError(ValueError):
    """A key entry of the tenancy file that OCI would not create."""


def key_doc(key_id: str, vault: dict[str, Any], spec: dict[str, Any], stamp: str,
            where: str) -> dict[str, Any]:
    """A key of `vault` from a tenancy-file entry ({name, algorithm, length,
    protection_mode, compartment id})."""
    algorithm = str(spec.get("algorithm", "AES")).upper()
    if algorithm not in ALGORITHMS:
        raise KeySpecError(f"{where}: algorithm must be one of {', '.join(ALGORITHMS)}")
    length = spec.get("length", 32 if algorithm == "AES" else 256)
    if algorithm == "AES" and length not in AES_LENGTHS:
        raise KeySpecError(f"{where}: an AES key's length is 16, 24 or 32 (bytes)")
    mode = str(spec.get("protection_mode", "HSM")).upper()
    if mode not in PROTECTION_MODES:
        raise KeySpecError(f"{where}: protection_mode must be HSM or SOFTWARE")
    region = key_id.split(".")[3]
    return {
        "id": key_id, "compartmentId": spec.get("compartment_id") or vault["compartmentId"],
        "displayName": str(spec["name"]), "vaultId": vault["id"],
        "currentKeyVersion": ocid("keyversion", region, seed=f"{key_id}/version/1"),
        "keyShape": {"algorithm": algorithm, "length": length},
        "protectionMode": mode, "lifecycleState": "ENABLED", "timeCreated": stamp,
        "isPrimary": True, "isAutoRotationEnabled": False,
        "freeformTags": spec.get("freeform_tags", {}),
        "definedTags": spec.get("defined_tags", {}),
    }


def key_summary(key: dict[str, Any]) -> dict[str, Any]:
    fields = ("compartmentId", "definedTags", "displayName", "freeformTags", "id",
              "lifecycleState", "timeCreated", "vaultId", "protectionMode",
              "isAutoRotationEnabled")
    return {**{f: key[f] for f in fields}, "algorithm": key["keyShape"]["algorithm"]}


def key_version(key: dict[str, Any]) -> dict[str, Any]:
    return {"compartmentId": key["compartmentId"], "id": key["currentKeyVersion"],
            "keyId": key["id"], "vaultId": key["vaultId"], "lifecycleState": "ENABLED",
            "origin": "INTERNAL", "timeCreated": key["timeCreated"], "isPrimary": True,
            "isAutoRotated": False}


def secret_keys(keys: list[dict[str, Any]]) -> dict[str, str]:
    """Key id -> vault id of the keys a secret may be encrypted with (enabled AES)."""
    return {k["id"]: k["vaultId"] for k in keys
            if k["lifecycleState"] == "ENABLED" and k["keyShape"]["algorithm"] == "AES"}
