"""422 replies for invalid requests that are always valid JSON, whatever the request held.

FastAPI's default reply echoes each error's `input` (and `ctx`): a lone surrogate or a
multi-megabyte string from the request then either fails to encode (a 502 from the
platform) or is sent back in full. These replies keep `type`, `loc` and `msg`, with every
string made encodable and cut short. A body that is not UTF-8 is a 422 on `body` too
(FastAPI's own answer is a 400 without a field).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

MAX_TEXT = 200


def printable(value: object) -> str | int:
    """A loc part or message as it may appear in a reply: an int, or a short UTF-8-safe
    string (lone surrogates and other unencodable code points become \\u escapes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_reply(errors: list[dict[str, Any]]) -> JSONResponse:
    detail = [{"type": printable(error.get("type", "invalid")),
               "loc": [printable(part) for part in error.get("loc", ())],
               "msg": printable(error.get("msg", ""))} for error in errors]
    return JSONResponse({"detail": detail}, status_code=422)


async def invalid_request(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_reply(list(exc.errors()))


async def unparsable_body(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # FastAPI raises its 400 "error parsing the body" from the UnicodeDecodeError.
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return error_reply([{"type": "json_invalid", "loc": ["body"],
                             "msg": "body is not valid UTF-8 JSON"}])
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, unparsable_body)
