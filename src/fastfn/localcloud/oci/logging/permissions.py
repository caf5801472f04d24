"""Logging operations -> permissions (Oracle's "Details for Logging": log-groups with
LOG_GROUP_INSPECT/READ/UPDATE/CREATE/DELETE, log-content with LOG_CONTENT_READ for a
search). A log's operations are checked in its log group's compartment; a search in the
compartment of its first log stream. GetWorkRequest is checked as LOG_GROUP_READ in the
request's compartment (unverified). Denials are 404 NotAuthorizedOrNotFound.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query, request_json
from fastfn.localcloud.oci.core.errors import OCIError
from fastfn.localcloud.oci.logging.models import LOG_GROUP, WORK_REQUEST
from fastfn.localcloud.oci.logging.query import parse

M = "/20200531"
S = "/20190909"
G = M + "/logGroups"


async def _group(service: Any, request: Request) -> Target | None:
    group = service.ctx.store.get(LOG_GROUP, request.path_params.get("group", ""))
    if group is None:
        return None
    return Target(group["compartmentId"], {"target.loggroup.id": group["id"]})


async def _work(service: Any, request: Request) -> Target | None:
    work = service.ctx.store.get(WORK_REQUEST, request.path_params.get("id", ""))
    return Target(work["compartmentId"]) if work else None


async def _search(service: Any, request: Request) -> Target | None:
    text = (await request_json(request)).get("searchQuery")
    if not isinstance(text, str):
        return None
    try:
        streams = parse(text).streams
    except OCIError:
        return None  # the handler's 400
    compartment = service.searcher.compartment_of(streams[0])
    return Target(compartment) if compartment else None


RULES: dict[str, Rule] = {
    f"POST {G}": Rule("CreateLogGroup", "log-groups", ("LOG_GROUP_CREATE",), in_body()),
    f"GET {G}": Rule("ListLogGroups", "log-groups", ("LOG_GROUP_INSPECT",), in_query()),
    f"GET {G}/{{group}}": Rule("GetLogGroup", "log-groups", ("LOG_GROUP_READ",), _group),
    f"PUT {G}/{{group}}": Rule("UpdateLogGroup", "log-groups", ("LOG_GROUP_UPDATE",),
                               _group),
    f"DELETE {G}/{{group}}": Rule("DeleteLogGroup", "log-groups", ("LOG_GROUP_DELETE",),
                                  _group),
    f"POST {G}/{{group}}/logs": Rule("CreateLog", "log-groups", ("LOG_GROUP_CREATE",),
                                     _group),
    f"GET {G}/{{group}}/logs": Rule("ListLogs", "log-groups", ("LOG_GROUP_INSPECT",),
                                    _group),
    f"GET {G}/{{group}}/logs/{{log}}": Rule("GetLog", "log-groups", ("LOG_GROUP_READ",),
                                            _group),
    f"PUT {G}/{{group}}/logs/{{log}}": Rule("UpdateLog", "log-groups",
                                            ("LOG_GROUP_UPDATE",), _group),
    f"DELETE {G}/{{group}}/logs/{{log}}": Rule("DeleteLog", "log-groups",
                                               ("LOG_GROUP_DELETE",), _group),
    f"GET {M}/workRequests": Rule("ListWorkRequests", "log-groups", ("LOG_GROUP_INSPECT",),
                                  in_query()),
    f"GET {M}/workRequests/{{id}}": Rule("GetWorkRequest", "log-groups", ("LOG_GROUP_READ",),
                                         _work),
    f"POST {S}/search": Rule("SearchLogs", "log-content", ("LOG_CONTENT_READ",), _search),
}
