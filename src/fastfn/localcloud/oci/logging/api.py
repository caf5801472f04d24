"""Logging routes: log groups, logs and work requests (20200531) and the search (20190909)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.errors import invalid, missing
from fastfn.localcloud.oci.core.listing import drop_none, filter_by, page, paginated, sort_items
from fastfn.localcloud.oci.core.wire import empty_response, json_response, parse_body
from fastfn.localcloud.oci.logging.backend import Logging
from fastfn.localcloud.oci.logging.models import (
    CreateLogDetails,
    CreateLogGroupDetails,
    SearchLogsDetails,
    UpdateLogDetails,
    UpdateLogGroupDetails,
)
from fastfn.localcloud.oci.logging.query import parse
from fastfn.localcloud.oci.logging.search import LogSearch

M = "/20200531"
S = "/20190909"


def _accepted(request: Request, work: str, doc: dict[str, Any] | None = None) -> Response:
    headers = {"opc-work-request-id": work}
    if doc is not None:
        headers["etag"] = str(doc["timeLastModified"])
    return empty_response(request, 202, headers)


def _sorted(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = request.query_params.get("sortBy") or "timeCreated"
    if by not in ("timeCreated", "displayName"):
        raise invalid("sortBy must be timeCreated or displayName.")
    return sort_items(request, items, default_by=by)


class LoggingApi:
    def __init__(self, logging: Logging) -> None:
        self.logging = logging
        self.ctx = logging.ctx
        self.searcher = LogSearch(logging.ctx, logging)

    # -- log groups ----------------------------------------------------------------------

    async def create_log_group(self, request: Request) -> Response:
        details = await parse_body(request, CreateLogGroupDetails)
        _, work = self.logging.create_log_group(details)
        return _accepted(request, work)

    async def list_log_groups(self, request: Request) -> Response:
        q = request.query_params
        if not q.get("compartmentId"):
            raise missing("compartmentId")
        groups = filter_by(self.logging.log_groups(q["compartmentId"]), q,
                           {"displayName": "displayName"})
        return paginated(request, [drop_none(g) for g in _sorted(request, groups)])

    async def get_log_group(self, request: Request) -> Response:
        group = self.logging.log_group(request.path_params["group"])
        return json_response(request, drop_none(group),
                             headers={"etag": str(group["timeLastModified"])})

    async def update_log_group(self, request: Request) -> Response:
        details = await parse_body(request, UpdateLogGroupDetails)
        return _accepted(request, self.logging.update_log_group(request.path_params["group"],
                                                                details))

    async def delete_log_group(self, request: Request) -> Response:
        return _accepted(request, self.logging.delete_log_group(request.path_params["group"]))

    # -- logs ------------------------------------------------------------------------------

    async def create_log(self, request: Request) -> Response:
        details = await parse_body(request, CreateLogDetails)
        _, work = self.logging.create_log(request.path_params["group"], details)
        return _accepted(request, work)

    async def list_logs(self, request: Request) -> Response:
        q = request.query_params
        logs = filter_by(self.logging.logs(request.path_params["group"]), q,
                         {"displayName": "displayName", "logType": "logType",
                          "lifecycleState": "lifecycleState"})
        for param, key in (("sourceService", "service"), ("sourceResource", "resource")):
            if q.get(param):
                logs = [log for log in logs if ((log.get("configuration") or {})
                                                .get("source") or {}).get(key) == q[param]]
        return paginated(request, [drop_none(log) for log in _sorted(request, logs)])

    async def get_log(self, request: Request) -> Response:
        log = self.logging.log(request.path_params["group"], request.path_params["log"])
        return json_response(request, drop_none(log),
                             headers={"etag": str(log["timeLastModified"])})

    async def update_log(self, request: Request) -> Response:
        details = await parse_body(request, UpdateLogDetails)
        return _accepted(request, self.logging.update_log(
            request.path_params["group"], request.path_params["log"], details))

    async def delete_log(self, request: Request) -> Response:
        return _accepted(request, self.logging.delete_log(request.path_params["group"],
                                                          request.path_params["log"]))

    # -- work requests ---------------------------------------------------------------------

    async def get_work_request(self, request: Request) -> Response:
        return json_response(request, self.logging.work_request(request.path_params["id"]))

    async def list_work_requests(self, request: Request) -> Response:
        compartment = request.query_params.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        return paginated(request, self.logging.work_requests(compartment))

    # -- search ----------------------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        details = await parse_body(request, SearchLogsDetails)
        if details.time_start.tzinfo is None or details.time_end.tzinfo is None:
            raise invalid("timeStart and timeEnd must be RFC 3339 times with a zone.")
        query = parse(details.search_query)
        records = self.searcher.search(query, details.time_start, details.time_end)
        chunk, headers = page(request, records)
        body: dict[str, Any] = {"results": [{"data": r} for r in chunk],
                                "summary": {"resultCount": len(chunk), "fieldCount": 2}}
        if details.is_return_field_info:
            body["fields"] = [{"fieldName": "datetime", "fieldType": "NUMBER"},
                              {"fieldName": "logContent", "fieldType": "STRING"}]
        return json_response(request, body, headers=headers)

    def routes(self) -> list[Route]:
        g = M + "/logGroups"
        return [
            Route(g, self.create_log_group, methods=["POST"]),
            Route(g, self.list_log_groups, methods=["GET"]),
            Route(g + "/{group}", self.get_log_group, methods=["GET"]),
            Route(g + "/{group}", self.update_log_group, methods=["PUT"]),
            Route(g + "/{group}", self.delete_log_group, methods=["DELETE"]),
            Route(g + "/{group}/logs", self.create_log, methods=["POST"]),
            Route(g + "/{group}/logs", self.list_logs, methods=["GET"]),
            Route(g + "/{group}/logs/{log}", self.get_log, methods=["GET"]),
            Route(g + "/{group}/logs/{log}", self.update_log, methods=["PUT"]),
            Route(g + "/{group}/logs/{log}", self.delete_log, methods=["DELETE"]),
            Route(M + "/workRequests", self.list_work_requests, methods=["GET"]),
            Route(M + "/workRequests/{id}", self.get_work_request, methods=["GET"]),
            Route(S + "/search", self.search, methods=["POST"]),
        ]
