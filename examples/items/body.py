"""A request's JSON body as a pydantic model, validated from the bytes.

FastAPI's body parameter parses the Content-Type with the `email` package, decodes the
JSON with `json.loads` and then validates the Python objects: about 90 us of a POST /items
here. pydantic validates the bytes with its own JSON parser in a fraction of that. The
errors are the RequestValidationError FastAPI raises, so the app's 422 handler formats
them the same way.

Python's `json` accepts lone surrogates (`"\\ud800"`) where pydantic's parser refuses the
whole document: a body pydantic cannot parse is decoded again by `json` and validated as
objects, so the error names the field, as FastAPI's own path does.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def is_json(content_type: str | None) -> bool:
    """`application/json` or `application/<anything>+json`, parameters ignored."""
    if content_type is None:
        return False
    maintype, _, subtype = content_type.partition(";")[0].strip().lower().partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """The requestBody that FastAPI would document for a body parameter of `model`."""
    return {"required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}}}


def _invalid(errors: list[Any]) -> RequestValidationError:
    return RequestValidationError(
        [{"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]} for e in errors])


async def json_body(request: Request, model: type[Model]) -> Model:
    body = await request.body()
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",),
                                       "msg": "Field required"}])
    if not is_json(request.headers.get("content-type")):
        raise RequestValidationError([{"type": "content_type", "loc": ("body",),
                                       "msg": "Content-Type must be application/json"}])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if all(error["type"] != "json_invalid" for error in errors):
            raise _invalid(errors) from None
    try:
        decoded = json.loads(body)
    except UnicodeDecodeError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                       "msg": "body is not valid UTF-8 JSON"}]) from None
    except json.JSONDecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos),
                                       "msg": f"JSON decode error: {exc.msg}"}]) from None
    try:
        return model.model_validate(decoded)
    except ValidationError as exc:
        raise _invalid(exc.errors(include_url=False, include_context=False,
                                  include_input=False)) from None
