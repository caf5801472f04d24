"""The Terraform outputs a pool deploy reads, and a reader of the state object.

Seed 002's deploy takes every id, port and secret reference from the outputs of the
Terraform state held in Object Storage, never from hand-copied settings. `OUTPUT_NAMES`
is the contract with `infra/outputs.tf`: the module must declare exactly these. A state
missing any of them fails before any change, naming every one that is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastfn.deploy.errors import TargetError

# Seed 002, "Terraform outputs (consumed automatically by GitHub Actions)", in its order.
OUTPUT_NAMES: tuple[str, ...] = (
    "backend_port",
    "instance_pool_id",
    "private_subnet_id",
    "api_nsg_id",
    "lb_id",
    "lb_backend_set_name",
    "app_env_secret_id",
    "ocir_username_secret_id",
    "ocir_auth_token_secret_id",
    "availability_domain",
    "compartment_ocid",
    "instance_image_id",
    "instance_shape",
    "instance_ocpus",
    "instance_memory_gbs",
    "ocir_namespace",
    "ocir_registry",
    "ocir_repo_name",
    "ocir_repo_url",
    "uma_configuration_id",
    "app_log_id",
)


class MissingOutputs(TargetError):
    """The state lacks outputs the deploy needs (data on `missing`)."""

    def __init__(self, missing: list[str], where: str) -> None:
        super().__init__(
            f"Terraform state {where} lacks output(s) {', '.join(missing)}: run "
            "`terraform apply` on the infra module first")
        self.missing = missing


@dataclass(frozen=True)
class PoolOutputs:
    """The 21 outputs, typed; `values` keeps them all by name."""

    values: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def text(self, name: str) -> str:
        return str(self.values[name])

    @property
    def backend_port(self) -> int:
        return int(self.values["backend_port"])

    @property
    def instance_pool_id(self) -> str:
        return self.text("instance_pool_id")

    @property
    def compartment_id(self) -> str:
        return self.text("compartment_ocid")

    @property
    def lb_id(self) -> str:
        return self.text("lb_id")

    @property
    def backend_set_name(self) -> str:
        return self.text("lb_backend_set_name")

    @property
    def private_subnet_id(self) -> str:
        return self.text("private_subnet_id")


def outputs_from_state(state: dict[str, Any], where: str = "") -> PoolOutputs:
    """The outputs of a Terraform state document (`{"outputs": {name: {"value": ...}}}`,
    format version 4); every missing or null output is named at once."""
    raw = state.get("outputs") if isinstance(state, dict) else None
    if not isinstance(raw, dict):
        raw = {}
    values: dict[str, Any] = {}
    missing: list[str] = []
    for name in OUTPUT_NAMES:
        entry = raw.get(name)
        value = entry.get("value") if isinstance(entry, dict) else None
        if value is None or value == "":
            missing.append(name)
        else:
            values[name] = value
    if missing:
        raise MissingOutputs(missing, where or "document")
    try:
        port = int(values["backend_port"])
    except (TypeError, ValueError):
        raise TargetError(f"Terraform output backend_port must be a port number, not "
                          f"{values['backend_port']!r}") from None
    if not 1 <= port <= 65535:
        raise TargetError(f"Terraform output backend_port must be 1..65535, not {port}")
    return PoolOutputs(values)


def parse_state(body: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TargetError(f"Terraform state {where} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise TargetError(f"Terraform state {where} is not a JSON object")
    return doc


def read_outputs(object_storage: Any, namespace: str, bucket: str, key: str) -> PoolOutputs:
    """Read the state object through an `oci.object_storage.ObjectStorageClient` and
    return its outputs; a missing object or bucket is a TargetError naming it."""
    import oci

    where = f"oci://{bucket}@{namespace}/{key}"
    try:
        response = object_storage.get_object(namespace, bucket, key)
    except oci.exceptions.ServiceError as exc:
        raise TargetError(f"cannot read Terraform state {where}: {exc.status} "
                          f"{exc.code}") from None
    return outputs_from_state(parse_state(response.data.content, where), where)
