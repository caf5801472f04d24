"""OCI-shaped errors: `{"code": ..., "message": ...}` with an `opc-request-id` header.

Every failure the local cloud reports goes through `OCIError`, so the oci SDK raises a
`ServiceError` with the same status and code the real service would give.
"""

from __future__ import annotations

import logging
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("fastfn.localcloud.oci")

REQUEST_ID_HEADER = "opc-request-id"


class OCIError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(what: str = "resource") -> OCIError:
    # OCI does not tell "missing" from "not allowed": both are this 404.
    return OCIError(404, "NotAuthorizedOrNotFound",
                    f"Authorization failed or requested {what} not found.")


def invalid(message: str) -> OCIError:
    return OCIError(400, "InvalidParameter", message)


def missing(name: str) -> OCIError:
    return OCIError(400, "MissingParameter", f"Missing parameter: {name}")


def conflict(message: str, code: str = "Conflict") -> OCIError:
    return OCIError(409, code, message)


def precondition_failed(message: str) -> OCIError:
    return OCIError(412, "PreconditionFailed", message)


def not_authenticated(message: str = "The required information to complete "
                      "authentication was not provided or was incorrect.") -> OCIError:
    return OCIError(401, "NotAuthenticated", message)


def request_id(request: Request | None = None) -> str:
    """The caller's opc-request-id if it sent one (the SDK does), else a fresh one."""
    if request is not None:
        given = request.headers.get(REQUEST_ID_HEADER)
        if given:
            return given
    return uuid.uuid4().hex.upper()


def error_response(error: OCIError, rid: str) -> Response:
    headers = {REQUEST_ID_HEADER: rid, **error.headers}
    if error.status == 304:  # Not Modified carries no body
        return Response(status_code=error.status, headers=headers)
    return JSONResponse({"code": error.code, "message": error.message},
                        status_code=error.status, headers=headers)


async def handle_oci_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OCIError)
    return error_response(exc, request_id(request))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # A bug in the local cloud still answers in OCI's shape; the traceback goes to our log,
    # never to the client.
    rid = request_id(request)
    log.exception("internal error", extra={"opc_request_id": rid})
    return error_response(OCIError(500, "InternalServerError",
                                   "Internal server error; see the local cloud log."), rid)
