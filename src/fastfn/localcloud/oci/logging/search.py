"""Logging Search over the function output the local cloud keeps (logs.py).

Each line a function wrote becomes a record as OCI Logging returns it for a Functions
invocation log: `{"datetime": <epoch ms>, "logContent": {"specversion": "1.0", "type":
"com.oraclecloud.functions.application.functioninvoke", "source": <application name>,
"subject": <function name>, "id", "time", "oracle": {logid, loggroupid, compartmentid,
tenantid, ingestedtime}, "data": {"applicationId", "functionId", "containerId",
"requestId", "message"}}}`. `data.message` is the line as written; `data.requestId` is the
call id the runtime's JSON lines carry (on OCI the request's RID; plain prints have none
locally). A record belongs to the
enabled invoke log whose source is the function's application. `data.src` (STDOUT or
STDERR) is not kept locally and is left out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.functions.models import APPLICATION, FUNCTION
from fastfn.localcloud.oci.logging.backend import Logging
from fastfn.localcloud.oci.logging.models import LOG_GROUP
from fastfn.localcloud.oci.logging.query import Query, value_of
from fastfn.localcloud.oci.logs import FunctionLogs

FUNCTIONS_TYPE = "com.oraclecloud.functions.application.functioninvoke"
MAX_WINDOW_DAYS = 14  # OCI refuses longer time ranges


class LogSearch:
    def __init__(self, ctx: CloudContext, logging: Logging) -> None:
        self.ctx = ctx
        self.logging = logging
        self.function_logs = FunctionLogs(ctx.layout.logs)

    def _group(self, compartment: str | None, ref: str) -> dict[str, Any]:
        if ref.startswith("ocid1.loggroup."):
            group = self.ctx.store.get(LOG_GROUP, ref)
            if group is not None and compartment in (None, group["compartmentId"]):
                return group
        elif compartment is not None:
            for group in self.logging.log_groups(compartment):
                if group["displayName"] == ref:
                    return group
        raise invalid(f"searchQuery: no log group {ref!r} in that compartment.")

    def scope(self, stream: list[str]) -> list[dict[str, Any]]:
        """The logs a stream names: "<compartment>[/<group>[/<log>]]" or "<group OCID>"."""
        if stream[0].startswith("ocid1.loggroup."):
            groups = [self._group(None, stream[0])]
            rest = stream[1:]
            if len(rest) > 1:
                raise invalid("searchQuery: after a log group's OCID only a log may follow.")
        else:
            rest = stream[2:]
            groups = ([self._group(stream[0], stream[1])] if len(stream) > 1
                      else self.logging.log_groups(stream[0]))
        logs = [log for group in groups for log in self.logging.logs(group["id"])]
        if rest:
            wanted = rest[0]
            logs = [log for log in logs if wanted in (log["id"], log["displayName"])]
            if not logs:
                raise invalid(f"searchQuery: no log {wanted!r} in that log group.")
        return logs

    def compartment_of(self, stream: list[str]) -> str | None:
        """Where a search's first stream lives (what authorization checks)."""
        if stream[0].startswith("ocid1.loggroup."):
            group = self.ctx.store.get(LOG_GROUP, stream[0])
            return str(group["compartmentId"]) if group else None
        return stream[0]

    def search(self, query: Query, start: datetime, end: datetime) -> list[dict[str, Any]]:
        if end <= start:
            raise invalid("timeEnd must be after timeStart.")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise invalid(f"timeStart to timeEnd may span at most {MAX_WINDOW_DAYS} days.")
        logs = {log["id"]: log for stream in query.streams for log in self.scope(stream)}
        by_app: dict[str, dict[str, Any]] = {}
        for log in logs.values():
            source = ((log.get("configuration") or {}).get("source") or {})
            app = self.ctx.store.get(APPLICATION, source.get("resource", ""))
            if log["isEnabled"] and app is not None:
                by_app[app["displayName"]] = {"log": log, "app": app}
        records = []
        for entry in self.function_logs.read(since=start):
            target = by_app.get(str(entry.get("application")))
            when = _parse_time(entry.get("time"))
            if target is None or when is None or when >= end:
                continue
            record = self._record(entry, when, target["log"], target["app"])
            if all(predicate(record) for predicate in query.where):
                records.append(record)
        for name, descending in reversed(query.sort):
            records.sort(key=lambda r, n=name: _sort_key(value_of(r, n)), reverse=descending)
        return records

    def _record(self, entry: dict[str, Any], when: datetime, log: dict[str, Any],
                app: dict[str, Any]) -> dict[str, Any]:
        functions = self.ctx.store.find(FUNCTION, parent=app["id"],
                                        name=str(entry.get("function")))
        stamp = str(entry["time"])
        return {"datetime": int(when.timestamp() * 1000), "logContent": {
            "specversion": "1.0", "type": FUNCTIONS_TYPE,
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{log['id']}/{stamp}/{entry['line']}")),
            "source": app["displayName"], "subject": entry.get("function"), "time": stamp,
            "oracle": {"logid": log["id"], "loggroupid": log["logGroupId"],
                       "compartmentid": app["compartmentId"],
                       "tenantid": self.ctx.identity.tenancy_id, "ingestedtime": stamp},
            "data": {"applicationId": app["id"],
                     "functionId": functions[0]["id"] if functions else None,
                     "containerId": "local", "requestId": entry.get("callId"),
                     "message": entry.get("line")},
        }}


def _parse_time(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
