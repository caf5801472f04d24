"""The tenancy: identity and networking resources loaded from a YAML file (served by
identity/api.py and network/api.py; policies and dynamic groups may also be created or
changed through the Identity API, see identity/policies.py). A loaded file turns policy
enforcement on (core/authz.py).

The file describes what a tenancy holds so that tools (the doctor) can read it through
the real IdentityClient and VirtualNetworkClient. Keys are the SDK's attribute names in
snake_case; resources refer to each other by name. Example (seed 001's recorded state):

    tenancy: {name: acme, home_region: eu-frankfurt-1}
    compartments:
      - {name: Sandbox}
    users:
      - {name: ci, api_keys: ["-----BEGIN PUBLIC KEY-----\n..."]}   # signs as this user
    groups:
      - {name: CI-CD-Deployers, members: [ci]}
    repositories:   # where images live (default: the root, as a first push creates them)
      - {name: hello-world-app/postgres-inserter, compartment: root}
    dynamic_groups:
      - name: PostgresInserterFunctionDG
        matching_rule: >-
          ALL {resource.type = 'fnfunc',
               resource.compartment.id = '${compartment:Sandbox}'}
    policies:
      - name: CICD-Deployers-Policy
        compartment: Sandbox
        statements:
          - Allow group CI-CD-Deployers to manage functions-family in compartment Sandbox
    vaults:       # each with its keys (default: one AES key named after the vault)
      - {name: main, compartment: Sandbox, keys: [{name: main-key}]}
    container_repositories:       # others appear in the root compartment on first push
      - {name: hello-world-app/postgres-inserter, compartment: Sandbox}
    container_image_signatures:   # by image ref; the signature list the doctor reads
      - {image: "fra.ocir.io/acme/hello-world-app/postgres-inserter:1",
         kms_key_id: "ocid1.key...", kms_key_version_id: "ocid1.keyversion..."}
    vcns:
      - name: sandbox-vcn
        compartment: Sandbox
        cidr_blocks: [10.1.0.0/16]
        service_gateways:
          - {name: sgw, services: [all-fra-services-in-oracle-services-network]}
        route_tables:
          - name: private-rt
            route_rules:
              - {destination: all-fra-services-in-oracle-services-network,
                 destination_type: SERVICE_CIDR_BLOCK, target: sgw}
        security_lists:
          - name: private-sl
            egress_security_rules: [{destination: 0.0.0.0/0, protocol: all}]
        network_security_groups:
          - name: fn-nsg
            rules:
              - {direction: EGRESS, protocol: "6", destination: 0.0.0.0/0,
                 destination_type: CIDR_BLOCK,
                 tcp_options: {destination_port_range: {min: 443, max: 443}}}
        subnets:
          - {name: private, cidr_block: 10.1.1.0/24, prohibit_public_ip_on_vnic: true,
             route_table: private-rt, security_lists: [private-sl]}

`${compartment:NAME}` in strings is replaced by that compartment's OCID. `id:` may be given
to any resource; otherwise the OCID is derived from the names, stable across restarts.
Whatever the file says, the cloud's own default compartment, vault, VCN and subnet exist.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from fastfn.localcloud.oci.core.auth import ApiKey, fingerprint
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.kms.models import (
    DEFAULT_KEY_NAME,
    KeySpecError,
    default_key_id,
    key_doc,
    vault_doc,
)
from fastfn.localcloud.oci.network.build import TenancyFileError, build_vcn, camel

__all__ = ["Tenancy", "TenancyFileError", "region_key"]

log = logging.getLogger("fastfn.localcloud.oci.identity")

_REF = re.compile(r"\$\{compartment:([^}]+)\}")
def _oracle_services(region: str, key: str) -> list[dict[str, Any]]:
    k = key.lower()
    return [
        {"id": ocid("service", region, seed=f"service-all-{region}"),
         "name": f"All {key.upper()} Services In Oracle Services Network",
         "cidrBlock": f"all-{k}-services-in-oracle-services-network",
         "description": "All services in the Oracle Services Network"},
        {"id": ocid("service", region, seed=f"service-os-{region}"),
         "name": f"OCI {key.upper()} Object Storage",
         "cidrBlock": f"oci-{k}-objectstorage", "description": "Object Storage"},
    ]


class Tenancy:
    """The read-only identity and network resources, by kind."""

    KINDS = ("compartment", "user", "group", "dynamicGroup", "policy", "vault", "key",
             "vcn", "subnet", "routeTable", "serviceGateway", "natGateway", "internetGateway",
             "securityList", "networkSecurityGroup", "service", "containerRepository")

    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx
        self.by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in self.KINDS}
        self.nsg_rules: dict[str, list[dict[str, Any]]] = {}
        self.user_keys: list[ApiKey] = []
        self.members: dict[str, list[str]] = {}  # group id -> user ids
        self.loaded = False  # a tenancy file was given: policies are enforced
        self.container_image_signatures: list[dict[str, Any]] = []
        identity = ctx.identity
        self.tenancy = {"id": identity.tenancy_id, "name": identity.tenancy_name,
                        "description": "fastfn local cloud",
                        "homeRegionKey": region_key(identity.region),
                        "freeformTags": {}, "definedTags": {}}
        self.stamp = rfc3339(now())

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, ctx: CloudContext, path: Path | None) -> Tenancy:
        tenancy = cls(ctx)
        data: dict[str, Any] = {}
        if path is not None:
            import yaml

            try:
                loaded = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise TenancyFileError(f"cannot read tenancy file {path}: {exc}") from exc
            if not isinstance(loaded, dict):
                raise TenancyFileError(f"{path}: the top level must be a mapping")
            data = loaded
            tenancy.loaded = True
        tenancy._build(data)
        return tenancy

    def _id(self, kind: str, given: dict[str, Any], *names: str) -> str:
        if given.get("id"):
            return str(given["id"])
        region = "" if kind in ("tenancy", "compartment", "user", "group", "dynamicgroup",
                                "policy") else self.ctx.identity.region
        seed = "/".join((self.ctx.identity.tenancy_id, kind, *names))
        return ocid(kind.lower(), region, seed=seed)

    def _compartment_id(self, ref: Any, where: str) -> str:
        if ref in (None, "", "root", "tenancy"):
            return self.ctx.identity.tenancy_id
        for c in self.by_kind["compartment"]:
            if ref in (c["name"], c["id"]):
                return str(c["id"])
        raise TenancyFileError(f"{where}: unknown compartment {ref!r}")

    def _user_id(self, ref: Any, where: str) -> str:
        for user in self.by_kind["user"]:
            if ref in (user["name"], user["id"]):
                return str(user["id"])
        raise TenancyFileError(f"{where}: unknown user {ref!r}")

    def repository_compartment(self, name: str) -> str:
        """Where a repository lives: as the file says, else the root compartment (where a
        first push creates it)."""
        for repo in self.by_kind["containerRepository"]:
            if repo["displayName"] == name:
                return str(repo["compartmentId"])
        return self.ctx.identity.tenancy_id

    def _substitute(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return _REF.sub(lambda m: self._compartment_id(m.group(1), where), value)
        if isinstance(value, list):
            return [self._substitute(v, where) for v in value]
        if isinstance(value, dict):
            return {k: self._substitute(v, where) for k, v in value.items()}
        return value

    def _base(self, kind: str, spec: dict[str, Any], where: str, compartment: Any = None,
              skip: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
        if not isinstance(spec, dict) or not spec.get("name"):
            raise TenancyFileError(f"{where}: every entry needs a name")
        body = {k: v for k, v in spec.items()
                if k not in ("compartment", "id", "name", "parent", *skip)}
        doc: dict[str, Any] = self._substitute(camel(body), where)
        doc.update({
            "id": self._id(kind, spec, str(spec["name"])),
            "compartmentId": self._compartment_id(
                compartment if compartment is not None else spec.get("compartment"), where),
            "timeCreated": self.stamp, "freeformTags": spec.get("freeform_tags", {}),
            "definedTags": spec.get("defined_tags", {}),
        })
        doc.update(extra)
        return doc

    def _build(self, data: dict[str, Any]) -> None:
        identity = self.ctx.identity
        info = data.get("tenancy") or {}
        if info.get("name"):
            self.tenancy["name"] = info["name"]
        root = identity.tenancy_id
        services = _oracle_services(identity.region, region_key(identity.region))
        self.by_kind["service"] = services

        self.by_kind["compartment"].append({
            "id": identity.compartment_id, "compartmentId": root,
            "name": identity.compartment_name, "description": "fastfn default compartment",
            "timeCreated": self.stamp, "lifecycleState": "ACTIVE", "isAccessible": True,
            "freeformTags": {}, "definedTags": {}})
        # Compartments may be nested: a parent must be listed before its children.
        for i, spec in enumerate(data.get("compartments") or []):
            where = f"compartments[{i}]"
            doc = self._base("compartment", spec, where, compartment=spec.get("parent"),
                             name=spec.get("name"), lifecycleState="ACTIVE",
                             isAccessible=True)
            self.by_kind["compartment"].append(doc)

        for i, spec in enumerate(data.get("users") or []):
            where = f"users[{i}]"
            keys = spec.get("api_keys") or []
            doc = self._base("user", spec, where, compartment="root", name=spec.get("name"),
                             lifecycleState="ACTIVE", isMfaActivated=False, skip=("api_keys",))
            self.by_kind["user"].append(doc)
            for key in keys:
                self._add_user_key(doc["id"], key, where)
        for i, spec in enumerate(data.get("groups") or []):
            group = self._base("group", spec, f"groups[{i}]", compartment="root",
                               name=spec.get("name"), lifecycleState="ACTIVE",
                               skip=("members",))
            self.by_kind["group"].append(group)
            self.members[group["id"]] = [
                self._user_id(ref, f"groups[{i}].members") for ref in spec.get("members") or []]
        self._add_administrator()
        for i, spec in enumerate(data.get("dynamic_groups") or []):
            where = f"dynamic_groups[{i}]"
            if not spec.get("matching_rule"):
                raise TenancyFileError(f"{where}: matching_rule is required")
            self.by_kind["dynamicGroup"].append(self._base(
                "dynamicGroup", spec, where, compartment="root", name=spec.get("name"),
                lifecycleState="ACTIVE"))
        for i, spec in enumerate(data.get("policies") or []):
            where = f"policies[{i}]"
            if not spec.get("statements"):
                raise TenancyFileError(f"{where}: statements are required")
            self.by_kind["policy"].append(self._base(
                "policy", spec, where, name=spec.get("name"), lifecycleState="ACTIVE",
                description=spec.get("description", spec.get("name"))))

        for i, spec in enumerate(data.get("container_repositories") or []):
            self.by_kind["containerRepository"].append(self._base(
                "containerRepo", spec, f"container_repositories[{i}]",
                displayName=spec.get("name"), lifecycleState="AVAILABLE",
                isPublic=bool(spec.get("is_public", False)), isImmutable=False,
                namespace=identity.namespace))
        self.container_image_signatures = [
            dict(s) for s in data.get("container_image_signatures") or []
            if isinstance(s, dict)]

        self._build_vaults(data.get("vaults") or [])

        # A public subnet that can reach the registry, as a console-made VCN has.
        default_vcn = {"name": "local-vcn", "compartment": identity.compartment_id,
                       "cidr_blocks": ["10.0.0.0/16"],
                       "internet_gateways": [{"name": "local-igw"}],
                       "route_tables": [{"name": "local-rt", "route_rules": [
                           {"destination": "0.0.0.0/0", "target": "local-igw"}]}],
                       "security_lists": [{"name": "local-sl", "egress_security_rules": [
                           {"destination": "0.0.0.0/0", "protocol": "all"}]}],
                       "subnets": [{"name": "local-subnet", "cidr_block": "10.0.0.0/24",
                                    "route_table": "local-rt",
                                    "security_lists": ["local-sl"]}]}
        for i, spec in enumerate([default_vcn, *(data.get("vcns") or [])]):
            build_vcn(self, spec, f"vcns[{i - 1}]" if i else "default vcn", services)

        self.ctx.compartment_names = {c["id"]: c["name"] for c in self.by_kind["compartment"]}
        self.ctx.compartment_names[root] = self.tenancy["name"]

    def _add_administrator(self) -> None:
        """The cloud's own user (the key `fastfn cloud config` exports), a member of the
        tenancy's Administrators group as the user who created a tenancy is."""
        identity = self.ctx.identity
        root = identity.tenancy_id
        self.by_kind["user"].append({
            "id": identity.user_id, "compartmentId": root, "name": "fastfn-local-admin",
            "description": "The local cloud's administrator", "lifecycleState": "ACTIVE",
            "timeCreated": self.stamp, "isMfaActivated": False, "emailVerified": False,
            "freeformTags": {}, "definedTags": {},
            "capabilities": {"canUseConsolePassword": False, "canUseApiKeys": True,
                             "canUseAuthTokens": True, "canUseSmtpCredentials": True,
                             "canUseCustomerSecretKeys": True}})
        admins = next((g for g in self.by_kind["group"] if g["name"] == "Administrators"),
                      None)
        if admins is None:
            admins = {"id": self._id("group", {}, "Administrators"), "compartmentId": root,
                      "name": "Administrators", "lifecycleState": "ACTIVE",
                      "description": "Administrators", "timeCreated": self.stamp,
                      "freeformTags": {}, "definedTags": {}}
            self.by_kind["group"].append(admins)
        self.members.setdefault(admins["id"], []).append(identity.user_id)

    def memberships(self) -> list[dict[str, Any]]:
        """UserGroupMembership documents, one per (group, user)."""
        root = self.ctx.identity.tenancy_id
        return [{"id": ocid("groupmembership", "", seed=f"{root}/{group}/{user}"),
                 "compartmentId": root, "groupId": group, "userId": user,
                 "timeCreated": self.stamp, "lifecycleState": "ACTIVE"}
                for group, users in self.members.items() for user in users]

    def _build_vaults(self, specs: list[Any]) -> None:
        """KMS vaults and their keys: the cloud's own vault with its key, then the file's
        (each with the keys it lists, or one named after it)."""
        identity = self.ctx.identity
        own = vault_doc(identity.vault_id, identity.compartment_id, "local", self.stamp)
        self.by_kind["vault"].append(own)
        self.by_kind["key"].append(key_doc(default_key_id(identity), own,
                                           {"name": DEFAULT_KEY_NAME}, self.stamp, "vault"))
        for i, spec in enumerate(specs):
            where = f"vaults[{i}]"
            base = self._base("vault", spec, where, skip=("keys",))
            vault = vault_doc(base["id"], base["compartmentId"], str(spec["name"]),
                              self.stamp, spec)
            self.by_kind["vault"].append(vault)
            keys = spec.get("keys") or [{"name": spec["name"]}]
            if not isinstance(keys, list):
                raise TenancyFileError(f"{where}.keys: must be a list")
            for j, key in enumerate(keys):
                key_where = f"{where}.keys[{j}]"
                if not isinstance(key, dict) or not key.get("name"):
                    raise TenancyFileError(f"{key_where}: every entry needs a name")
                key = {**key, "compartment_id": self._compartment_id(
                    key["compartment"], key_where) if key.get("compartment")
                    else vault["compartmentId"]}
                key_id = str(key.get("id") or self._id("key", key, vault["id"],
                                                       str(key["name"])))
                try:
                    self.by_kind["key"].append(key_doc(key_id, vault, key, self.stamp,
                                                       key_where))
                except KeySpecError as exc:
                    raise TenancyFileError(str(exc)) from None

    @property
    def vault_ids(self) -> frozenset[str]:
        """Vaults secrets may be created in (Secrets is given these)."""
        return frozenset(v["id"] for v in self.by_kind["vault"])

    @property
    def subnet_ids(self) -> frozenset[str]:
        """Subnets applications may use (Functions is given these)."""
        return frozenset(s["id"] for s in self.by_kind["subnet"])

    def _add_user_key(self, user_id: str, key: Any, where: str) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = key.get("public_key_pem") if isinstance(key, dict) else key
        try:
            public = serialization.load_pem_public_key(str(pem).encode())
        except (ValueError, TypeError) as exc:
            raise TenancyFileError(f"{where}: bad public key: {exc}") from None
        if not isinstance(public, rsa.RSAPublicKey):
            raise TenancyFileError(f"{where}: API keys must be RSA")
        self.user_keys.append(ApiKey(self.ctx.identity.tenancy_id, user_id,
                                     fingerprint(public), public))

    def api_keys(self) -> list[ApiKey]:
        return self.user_keys


def region_key(region: str) -> str:
    from fastfn.localcloud.oci.principals import region_key as key

    return key(region)
