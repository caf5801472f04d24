"""Vault secrets (the Vaults API, 20180608) and their bundles (the Secrets API, 20190301).

A secret is a list of versions; each version carries rotation stages. Version 1 starts
as CURRENT and LATEST; a new CURRENT version demotes the old one to PREVIOUS; a PENDING
version waits until `currentVersionNumber` promotes it. Bundle content is base64, as the
real service returns it. Secret contents never go to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, conflict, invalid, missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.listing import drop_none, filter_by, paginated
from fastfn.localcloud.oci.core.store import Store
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.secrets.models import (
    SECRET,
    STAGES,
    VERSION,
    CreateSecretDetails,
    ScheduleSecretDeletionDetails,
    SecretContentDetails,
    UpdateSecretDetails,
    _check_content,
    _version_key,
    deletion_time,
)

log = logging.getLogger("fastfn.localcloud.oci.secrets")


class Secrets:
    def __init__(self, ctx: CloudContext, vault_ids: Collection[str],
                 keys: Mapping[str, str]) -> None:
        """`keys`: the keys secrets may be encrypted with (enabled AES), id -> vault id."""
        self.ctx = ctx
        self.vault_ids = vault_ids
        self.keys = keys

    @property
    def store(self) -> Store:
        return self.ctx.store

    def _secret(self, secret_id: str) -> dict[str, Any]:
        secret = self.store.get(SECRET, secret_id)
        if secret is None:
            raise not_found("secret")
        return secret

    def _versions(self, secret_id: str) -> list[dict[str, Any]]:
        return self.store.find(VERSION, parent=secret_id)

    def _add_version(self, store: Store, secret: dict[str, Any],
                     content: SecretContentDetails) -> dict[str, Any]:
        versions = self._versions(secret["id"])
        if content.name and any(v.get("name") == content.name for v in versions):
            raise conflict(f"A version named {content.name!r} already exists.")
        number = max((v["versionNumber"] for v in versions), default=0) + 1
        for v in versions:
            v["stages"] = [s for s in v["stages"] if s != "LATEST"]
        version = {
            "secretId": secret["id"], "versionNumber": number, "name": content.name,
            "contentType": content.content_type, "content": content.content,
            "timeCreated": rfc3339(now()), "stages": ["LATEST"],
        }
        versions.append(version)
        if content.stage == "CURRENT":
            self._make_current(secret, versions, number)
        else:
            version["stages"].insert(0, "PENDING")
        for v in versions:
            store.put(VERSION, _version_key(secret["id"], v["versionNumber"]), v,
                      parent=secret["id"], name=f"{v['versionNumber']:010d}")
        return version

    @staticmethod
    def _make_current(secret: dict[str, Any], versions: list[dict[str, Any]],
                      number: int) -> None:
        target = next((v for v in versions if v["versionNumber"] == number), None)
        if target is None:
            raise invalid(f"Secret version {number} does not exist.")
        if "CURRENT" in target["stages"]:
            return
        for v in versions:
            if "CURRENT" in v["stages"]:
                v["stages"] = [s for s in v["stages"] if s != "CURRENT"] + ["PREVIOUS"]
            elif "PREVIOUS" in v["stages"]:
                v["stages"] = [s for s in v["stages"] if s != "PREVIOUS"]
        target["stages"] = ["CURRENT"] + [s for s in target["stages"]
                                          if s not in ("PENDING", "PREVIOUS")]
        secret["currentVersionNumber"] = number

    # -- Vaults API ----------------------------------------------------------------------

    async def create_secret(self, request: Request) -> Response:
        details = await parse_body(request, CreateSecretDetails)
        _check_content(details.secret_content)
        if not self.ctx.compartment_exists(details.compartment_id):
            raise _related("compartmentId", f"Compartment {details.compartment_id}")
        if details.vault_id not in self.vault_ids:
            raise _related("vaultId", f"Vault {details.vault_id}")
        key_vault = self.keys.get(details.key_id)
        if key_vault is None:
            raise _related("keyId", f"Key {details.key_id} (an enabled AES key)")
        if key_vault != details.vault_id:
            raise invalid(f"keyId: key {details.key_id} is not in vault {details.vault_id}.")
        secret = {
            "id": ocid("vaultsecret", self.ctx.identity.region),
            "compartmentId": details.compartment_id, "secretName": details.secret_name,
            "vaultId": details.vault_id, "keyId": details.key_id,
            "description": details.description, "metadata": details.metadata,
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {},
            "lifecycleState": "ACTIVE", "timeCreated": rfc3339(now()),
            "currentVersionNumber": 1, "isReplica": False, "isAutoGenerationEnabled": False,
        }
        with self.store.transaction() as store:
            if any(s["vaultId"] == details.vault_id and s["lifecycleState"] != "DELETED"
                   for s in store.find(SECRET, name=details.secret_name)):
                raise conflict(f"A secret named {details.secret_name!r} already exists in "
                               "this vault.")
            self._add_version(store, secret, details.secret_content)
            store.put(SECRET, secret["id"], secret, parent=details.compartment_id,
                      name=details.secret_name)
        log.info("secret created", extra={"secret_id": secret["id"]})
        return json_response(request, drop_none(secret), headers={"etag": secret["id"]})

    async def get_secret(self, request: Request) -> Response:
        return json_response(request, drop_none(self._secret(request.path_params["id"])))

    async def list_secrets(self, request: Request) -> Response:
        q = request.query_params
        compartment = q.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        secrets = self.store.find(SECRET, parent=compartment)
        secrets = filter_by(secrets, q, {"name": "secretName", "vaultId": "vaultId",
                                         "lifecycleState": "lifecycleState"})
        key = "secretName" if q.get("sortBy", "TIMECREATED").upper() == "NAME" else "timeCreated"
        secrets.sort(key=lambda s: s[key], reverse=q.get("sortOrder", "ASC").upper() == "DESC")
        return paginated(request, [drop_none(s) for s in secrets])

    async def update_secret(self, request: Request) -> Response:
        details = await parse_body(request, UpdateSecretDetails)
        if details.secret_content is not None:
            _check_content(details.secret_content)
        with self.store.transaction() as store:
            secret = self._secret(request.path_params["id"])
            if secret["lifecycleState"] != "ACTIVE":
                raise conflict(f"The secret is {secret['lifecycleState']}.")
            if details.secret_content is not None:
                version = self._add_version(store, secret, details.secret_content)
                if details.secret_content.stage == "CURRENT":
                    secret["currentVersionNumber"] = version["versionNumber"]
            if details.current_version_number is not None:
                versions = self._versions(secret["id"])
                self._make_current(secret, versions, details.current_version_number)
                for v in versions:
                    store.put(VERSION, _version_key(secret["id"], v["versionNumber"]), v,
                              parent=secret["id"], name=f"{v['versionNumber']:010d}")
            for field in ("description", "metadata", "freeform_tags", "defined_tags"):
                value = getattr(details, field)
                if value is not None:
                    secret[to_camel(field)] = value
            store.put(SECRET, secret["id"], secret, parent=secret["compartmentId"],
                      name=secret["secretName"])
        log.info("secret updated", extra={"secret_id": secret["id"]})
        return json_response(request, drop_none(secret))

    async def list_secret_versions(self, request: Request) -> Response:
        secret = self._secret(request.path_params["id"])
        versions = sorted(self._versions(secret["id"]), key=lambda v: v["versionNumber"],
                          reverse=request.query_params.get("sortOrder", "DESC") == "DESC")
        return paginated(request, [_version_summary(v) for v in versions])

    async def get_secret_version(self, request: Request) -> Response:
        secret = self._secret(request.path_params["id"])
        version = self.store.get(VERSION, _version_key(secret["id"],
                                                       _int(request.path_params["number"])))
        if version is None:
            raise not_found("secret version")
        return json_response(request, _version_summary(version))

    async def schedule_deletion(self, request: Request) -> Response:
        details = (await parse_body(request, ScheduleSecretDeletionDetails)
                   if (await request.body()).strip() else ScheduleSecretDeletionDetails())
        when = deletion_time(details.time_of_deletion)
        with self.store.transaction() as store:
            secret = self._secret(request.path_params["id"])
            if secret["lifecycleState"] != "ACTIVE":
                raise conflict(f"The secret is {secret['lifecycleState']}.")
            secret["lifecycleState"] = "PENDING_DELETION"
            secret["timeOfDeletion"] = rfc3339(when)
            store.put(SECRET, secret["id"], secret, parent=secret["compartmentId"],
                      name=secret["secretName"])
        log.info("secret deletion scheduled", extra={"secret_id": secret["id"]})
        return empty_response(request, 200)

    async def cancel_deletion(self, request: Request) -> Response:
        with self.store.transaction() as store:
            secret = self._secret(request.path_params["id"])
            if secret["lifecycleState"] != "PENDING_DELETION":
                raise conflict(f"The secret is {secret['lifecycleState']}, not "
                               "PENDING_DELETION.")
            secret["lifecycleState"] = "ACTIVE"
            secret.pop("timeOfDeletion", None)
            store.put(SECRET, secret["id"], secret, parent=secret["compartmentId"],
                      name=secret["secretName"])
        log.info("secret deletion cancelled", extra={"secret_id": secret["id"]})
        return empty_response(request, 200)

    # -- Secrets API (bundles) -------------------------------------------------------------

    def _select_version(self, secret: dict[str, Any], request: Request) -> dict[str, Any]:
        q = request.query_params
        versions = self._versions(secret["id"])
        if q.get("versionNumber"):
            number = _int(q["versionNumber"])
            chosen = [v for v in versions if v["versionNumber"] == number]
        elif q.get("secretVersionName"):
            chosen = [v for v in versions if v.get("name") == q["secretVersionName"]]
        else:
            stage = (q.get("stage") or "CURRENT").upper()
            if stage not in STAGES:
                raise invalid(f"stage must be one of {', '.join(STAGES)}.")
            chosen = [v for v in versions if stage in v["stages"]]
        if not chosen:
            raise not_found("secret version")
        return chosen[0]

    def _bundle(self, request: Request, secret: dict[str, Any]) -> Response:
        if secret["lifecycleState"] not in ("ACTIVE", "PENDING_DELETION"):
            raise not_found("secret")
        version = self._select_version(secret, request)
        return json_response(request, {
            "secretId": secret["id"], "versionNumber": version["versionNumber"],
            "versionName": version.get("name"), "timeCreated": version["timeCreated"],
            "stages": version["stages"], "metadata": secret.get("metadata"),
            "secretBundleContent": {"contentType": version["contentType"],
                                    "content": version["content"]},
        }, headers={"etag": f"{secret['id']}-{version['versionNumber']}"})

    async def get_secret_bundle(self, request: Request) -> Response:
        return self._bundle(request, self._secret(request.path_params["id"]))

    async def get_secret_bundle_by_name(self, request: Request) -> Response:
        q = request.query_params
        name, vault = q.get("secretName"), q.get("vaultId")
        if not name:
            raise missing("secretName")
        if not vault:
            raise missing("vaultId")
        found = [s for s in self.store.find(SECRET, name=name) if s["vaultId"] == vault]
        if not found:
            raise not_found("secret")
        return self._bundle(request, found[0])

    async def list_bundle_versions(self, request: Request) -> Response:
        secret = self._secret(request.path_params["id"])
        versions = sorted(self._versions(secret["id"]), key=lambda v: v["versionNumber"],
                          reverse=True)
        return paginated(request, [
            {"secretId": v["secretId"], "versionNumber": v["versionNumber"],
             "versionName": v.get("name"), "timeCreated": v["timeCreated"],
             "stages": v["stages"]} for v in versions])

    def routes(self) -> list[Route]:
        v = "/20180608/secrets"
        s = "/20190301/secretbundles"
        return [
            Route(v, self.create_secret, methods=["POST"]),
            Route(v, self.list_secrets, methods=["GET"]),
            Route(v + "/{id}", self.get_secret, methods=["GET"]),
            Route(v + "/{id}", self.update_secret, methods=["PUT"]),
            Route(v + "/{id}/versions", self.list_secret_versions, methods=["GET"]),
            Route(v + "/{id}/version/{number}", self.get_secret_version, methods=["GET"]),
            Route(v + "/{id}/actions/scheduleDeletion", self.schedule_deletion,
                  methods=["POST"]),
            Route(v + "/{id}/actions/cancelDeletion", self.cancel_deletion,
                  methods=["POST"]),
            Route(s + "/actions/getByName", self.get_secret_bundle_by_name, methods=["POST"]),
            Route(s + "/{id}", self.get_secret_bundle, methods=["GET"]),
            Route(s + "/{id}/versions", self.list_bundle_versions, methods=["GET"]),
        ]


def _related(field: str, what: str) -> OCIError:
    return OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                    f"{field}: {what} not found or not authorized.")


def _version_summary(v: dict[str, Any]) -> dict[str, Any]:
    # Never the content: version listings carry metadata only.
    return {"secretId": v["secretId"], "versionNumber": v["versionNumber"],
            "name": v.get("name"), "contentType": v["contentType"],
            "timeCreated": v["timeCreated"], "stages": v["stages"],
            "isContentAutoGenerated": False}


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid(f"{value!r} is not a version number.") from None
