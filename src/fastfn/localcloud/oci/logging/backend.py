"""Log groups and logs (plain methods; api.py adds HTTP). Changes answer with a work
request that has already SUCCEEDED, which the CLI's --wait-for-state reads.

A SERVICE log must be a Functions invocation log (`service: functions`, `category:
invoke`, `resource`: an application's OCID): the output the local cloud keeps for that
application's functions is what a search of the log returns. CUSTOM logs may be created
but stay empty (nothing ingests into them locally).
"""

from __future__ import annotations

import logging
from typing import Any

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, conflict, invalid, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.store import Store
from fastfn.localcloud.oci.functions.models import APPLICATION
from fastfn.localcloud.oci.logging.models import (
    FUNCTIONS_SERVICE,
    INVOKE_CATEGORY,
    LOG,
    LOG_GROUP,
    RETENTION_DAYS,
    WORK_REQUEST,
    CreateLogDetails,
    CreateLogGroupDetails,
    UpdateLogDetails,
    UpdateLogGroupDetails,
)

log = logging.getLogger("fastfn.localcloud.oci.logging")


def _related(field: str, what: str) -> OCIError:
    return OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                    f"{field}: {what} not found or not authorized.")


class Logging:
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def region(self) -> str:
        return self.ctx.identity.region

    def _work(self, store: Store, operation: str, compartment_id: str, entity: str,
              action: str, identifier: str) -> str:
        stamp = rfc3339(now())
        work = {"id": ocid("logworkrequest", self.region), "operationType": operation,
                "status": "SUCCEEDED", "compartmentId": compartment_id,
                "percentComplete": 100.0, "timeAccepted": stamp, "timeStarted": stamp,
                "timeFinished": stamp,
                "resources": [{"entityType": entity, "actionType": action,
                               "identifier": identifier}]}
        store.put(WORK_REQUEST, work["id"], work, parent=compartment_id, name=stamp)
        return str(work["id"])

    def work_request(self, work_id: str) -> dict[str, Any]:
        work = self.store.get(WORK_REQUEST, work_id)
        if work is None:
            raise not_found("work request")
        return work

    def work_requests(self, compartment_id: str) -> list[dict[str, Any]]:
        return self.store.find(WORK_REQUEST, parent=compartment_id)

    # -- log groups ----------------------------------------------------------------------

    def create_log_group(self, details: CreateLogGroupDetails) -> tuple[dict[str, Any], str]:
        if not self.ctx.compartment_exists(details.compartment_id):
            raise _related("compartmentId", f"Compartment {details.compartment_id}")
        stamp = rfc3339(now())
        group = {"id": ocid("loggroup", self.region), "compartmentId": details.compartment_id,
                 "displayName": details.display_name, "description": details.description,
                 "lifecycleState": "ACTIVE", "timeCreated": stamp, "timeLastModified": stamp,
                 "freeformTags": details.freeform_tags or {},
                 "definedTags": details.defined_tags or {}}
        with self.store.transaction() as store:
            if store.find(LOG_GROUP, parent=details.compartment_id, name=details.display_name):
                raise conflict(f"A log group named {details.display_name!r} already exists "
                               "in this compartment.", "NotAuthorizedOrResourceAlreadyExists")
            store.put(LOG_GROUP, group["id"], group, parent=group["compartmentId"],
                      name=group["displayName"])
            work = self._work(store, "CREATE_LOG_GROUP", group["compartmentId"],
                              "loggroup", "CREATED", group["id"])
        log.info("log group created", extra={"log_group_id": group["id"]})
        return group, work

    def log_group(self, group_id: str) -> dict[str, Any]:
        group = self.store.get(LOG_GROUP, group_id)
        if group is None:
            raise not_found("log group")
        return group

    def log_groups(self, compartment_id: str) -> list[dict[str, Any]]:
        return self.store.find(LOG_GROUP, parent=compartment_id)

    def update_log_group(self, group_id: str, details: UpdateLogGroupDetails) -> str:
        with self.store.transaction() as store:
            group = self.log_group(group_id)
            for field, value in details.model_dump(exclude_none=True, by_alias=True).items():
                group[field] = value
            group["timeLastModified"] = rfc3339(now())
            store.put(LOG_GROUP, group_id, group, parent=group["compartmentId"],
                      name=group["displayName"])
            return self._work(store, "UPDATE_LOG_GROUP", group["compartmentId"], "loggroup",
                              "UPDATED", group_id)

    def delete_log_group(self, group_id: str) -> str:
        with self.store.transaction() as store:
            group = self.log_group(group_id)
            if store.find(LOG, parent=group_id):
                raise conflict("The log group still has logs; delete them first.")
            store.delete(LOG_GROUP, group_id)
            return self._work(store, "DELETE_LOG_GROUP", group["compartmentId"], "loggroup",
                              "DELETED", group_id)

    # -- logs ------------------------------------------------------------------------------

    def _check_source(self, details: CreateLogDetails, store: Store) -> dict[str, Any] | None:
        if details.log_type == "CUSTOM":
            return None
        if details.configuration is None:
            raise invalid("configuration: a SERVICE log needs a configuration with a source.")
        source = details.configuration.source
        if (source.service, source.category) != (FUNCTIONS_SERVICE, INVOKE_CATEGORY):
            raise invalid("configuration.source: the local cloud keeps only Functions "
                          "invocation logs (service 'functions', category 'invoke').")
        if store.get(APPLICATION, source.resource) is None:
            raise _related("configuration.source.resource", f"Application {source.resource}")
        for existing in store.find(LOG):
            src = ((existing.get("configuration") or {}).get("source") or {})
            if (src.get("resource"), src.get("category")) == (source.resource,
                                                               source.category):
                raise conflict("This application already has an invoke log: "
                               f"{existing['id']}.", "NotAuthorizedOrResourceAlreadyExists")
        return details.configuration.wire()

    def create_log(self, group_id: str, details: CreateLogDetails) -> tuple[dict[str, Any], str]:
        if details.retention_duration not in RETENTION_DAYS:
            raise invalid("retentionDuration must be 30, 60, 90, 120, 150 or 180 (days).")
        with self.store.transaction() as store:
            group = self.log_group(group_id)
            configuration = self._check_source(details, store)
            if store.find(LOG, parent=group_id, name=details.display_name):
                raise conflict(f"A log named {details.display_name!r} already exists in "
                               "this log group.", "NotAuthorizedOrResourceAlreadyExists")
            if configuration is not None and not configuration.get("compartmentId"):
                configuration["compartmentId"] = group["compartmentId"]
            stamp = rfc3339(now())
            doc = {"id": ocid("log", self.region), "tenancyId": self.ctx.identity.tenancy_id,
                   "logGroupId": group_id, "displayName": details.display_name,
                   "logType": details.log_type, "isEnabled": details.is_enabled,
                   "configuration": configuration, "lifecycleState": "ACTIVE",
                   "timeCreated": stamp, "timeLastModified": stamp,
                   "retentionDuration": details.retention_duration,
                   "compartmentId": group["compartmentId"],
                   "freeformTags": details.freeform_tags or {},
                   "definedTags": details.defined_tags or {}}
            store.put(LOG, doc["id"], doc, parent=group_id, name=doc["displayName"])
            work = self._work(store, "CREATE_LOG", group["compartmentId"], "log", "CREATED",
                              doc["id"])
        log.info("log created", extra={"log_id": doc["id"]})
        return doc, work

    def log(self, group_id: str, log_id: str) -> dict[str, Any]:
        doc = self.store.get(LOG, log_id)
        if doc is None or doc["logGroupId"] != group_id:
            raise not_found("log")
        return doc

    def logs(self, group_id: str) -> list[dict[str, Any]]:
        self.log_group(group_id)
        return self.store.find(LOG, parent=group_id)

    def all_logs(self) -> list[dict[str, Any]]:
        return self.store.find(LOG)

    def update_log(self, group_id: str, log_id: str, details: UpdateLogDetails) -> str:
        if details.retention_duration is not None and \
                details.retention_duration not in RETENTION_DAYS:
            raise invalid("retentionDuration must be 30, 60, 90, 120, 150 or 180 (days).")
        with self.store.transaction() as store:
            doc = self.log(group_id, log_id)
            for field, value in details.model_dump(exclude_none=True, by_alias=True).items():
                doc[field] = value
            doc["timeLastModified"] = rfc3339(now())
            store.put(LOG, log_id, doc, parent=group_id, name=doc["displayName"])
            return self._work(store, "UPDATE_LOG", doc["compartmentId"], "log", "UPDATED",
                              log_id)

    def delete_log(self, group_id: str, log_id: str) -> str:
        with self.store.transaction() as store:
            doc = self.log(group_id, log_id)
            store.delete(LOG, log_id)
            return self._work(store, "DELETE_LOG", doc["compartmentId"], "log", "DELETED",
                              log_id)
