"""OCI-shaped errors: `{"code": ..., "message": ...}` with an `opc-request-id` header.

Every failure the local cloud reports goes through `OCIError`, so the oci SDK raises a
`ServiceError` with the same status and code the real service would give.
"""

from __future__ import annotations

import logging
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def internal_error(rid: str) -> Response:
    # A bug in the local cloud still answers in OCI's shape; the traceback goes to our log,
    # never to the client.
    log.exception("internal error", extra={"opc_request_id": rid})
    return error_response(OCIError(500, "InternalServerError",
                                   "Internal server error; see the local cloud log."), rid)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    return internal_error(request_id(request))


class UnexpectedErrors:
    """Answers an unexpected exception with the 500 and ends the call there.

    Starlette's own handler for `Exception` sends the 500 and then re-raises, and the HTTP
    server then closes the connection under the response it just wrote: a client can read
    a connection reset instead of the 500. Here the exception stops, and the connection
    stays usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            if started:
                raise  # nothing left to answer with: the server ends the connection
            await internal_error(request_id(Request(scope)))(scope, receive, send)
