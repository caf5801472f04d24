"""Functions management and invoke operations -> permissions (Oracle's "Details for
Functions"). Denials are 404 NotAuthorizedOrNotFound. Work requests: Oracle's table does
not list them; they are checked as reads of applications (unverified). Left out: the
subnet permissions a user needs to create an application (`use virtual-network-family`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query, request_json, stored
from fastfn.localcloud.oci.functions.models import APPLICATION, FUNCTION, NEW_API, WORK_REQUEST

A = "/{version}/applications"
F = "/{version}/functions"
W = f"/{NEW_API}/workRequests"


def _function_variables(fn: dict[str, Any]) -> dict[str, str]:
    return {"target.function.id": fn["id"]}


async def _app_of_query(service: Any, request: Request) -> Target | None:
    app = service.ctx.store.get(APPLICATION, request.query_params.get("applicationId", ""))
    return None if app is None else Target(app["compartmentId"])


async def _app_of_body(service: Any, request: Request) -> Target | None:
    app_id = (await request_json(request)).get("applicationId")
    app = service.ctx.store.get(APPLICATION, app_id) if isinstance(app_id, str) else None
    return None if app is None else Target(app["compartmentId"])


_app = stored(APPLICATION)
_fn = stored(FUNCTION, variables=_function_variables)

RULES: dict[str, Rule] = {
    f"POST {A}": Rule("CreateApplication", "fn-app", ("FN_APP_CREATE",), in_body()),
    f"GET {A}": Rule("ListApplications", "fn-app", ("FN_APP_LIST",), in_query()),
    f"GET {A}/{{id}}": Rule("GetApplication", "fn-app", ("FN_APP_READ",), _app),
    f"PUT {A}/{{id}}": Rule("UpdateApplication", "fn-app", ("FN_APP_UPDATE",), _app),
    f"DELETE {A}/{{id}}": Rule("DeleteApplication", "fn-app", ("FN_APP_DELETE",), _app),
    f"POST {F}": Rule("CreateFunction", "fn-function", ("FN_FUNCTION_CREATE",), _app_of_body),
    f"GET {F}": Rule("ListFunctions", "fn-function", ("FN_FUNCTION_LIST",), _app_of_query),
    f"GET {F}/{{id}}": Rule("GetFunction", "fn-function", ("FN_FUNCTION_READ",), _fn),
    f"PUT {F}/{{id}}": Rule("UpdateFunction", "fn-function", ("FN_FUNCTION_UPDATE",), _fn),
    f"DELETE {F}/{{id}}": Rule("DeleteFunction", "fn-function", ("FN_FUNCTION_DELETE",), _fn),
    f"POST {F}/{{id}}/actions/invoke": Rule("InvokeFunction", "fn-invocation",
                                            ("FN_INVOCATION",), _fn),
    f"GET {W}": Rule("ListWorkRequests", "fn-app", ("FN_APP_LIST",), in_query()),
    f"GET {W}/{{id}}": Rule("GetWorkRequest", "fn-app", ("FN_APP_READ",), stored(WORK_REQUEST)),
    f"GET {W}/{{id}}/errors": Rule("ListWorkRequestErrors", "fn-app", ("FN_APP_READ",),
                                   stored(WORK_REQUEST)),
    f"GET {W}/{{id}}/logs": Rule("ListWorkRequestLogs", "fn-app", ("FN_APP_READ",),
                                 stored(WORK_REQUEST)),
}
