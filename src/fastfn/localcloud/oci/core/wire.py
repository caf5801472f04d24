"""Wire-format plumbing shared by the services: camelCase models, bodies, responses."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fastfn.localcloud.oci.core.errors import REQUEST_ID_HEADER, invalid, request_id
from fastfn.localcloud.oci.core.ids import rfc3339

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BODY = 1024 * 1024
# OCI's request bodies nest a handful of levels (tags: 3); deeper input is refused so that
# neither parsing nor later recursive walks (rule conditions, serialisation) can overflow.
MAX_JSON_DEPTH = 32


class Wire(BaseModel):
    """A JSON object as OCI sends it: camelCase keys, unknown keys ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="ignore")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def ts(value: datetime) -> str:
    return rfc3339(value)


def json_depth(value: Any) -> int:
    """How deeply containers nest in a parsed JSON value (iterative: any depth is safe)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def load_json(raw: str | bytes, what: str = "Request body") -> Any:
    """Parse client JSON: malformed or too deeply nested input is a 400 naming `what`."""
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        too_deep = True
    except ValueError:
        raise invalid(f"{what} is not valid JSON.") from None
    else:
        too_deep = json_depth(data) > MAX_JSON_DEPTH
    if too_deep:
        raise invalid(f"{what} nests deeper than {MAX_JSON_DEPTH} levels.")
    return data


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_JSON_BODY:
        raise invalid("Request body is too large.")
    data = load_json(raw or b"null")
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise invalid(f"Invalid {where}: {first['msg']}") from None


def json_response(request: Request, content: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    if isinstance(content, BaseModel):
        content = content.model_dump(mode="json", by_alias=True, exclude_none=True)
    elif isinstance(content, list):
        content = [c.model_dump(mode="json", by_alias=True, exclude_none=True)
                   if isinstance(c, BaseModel) else c for c in content]
    all_headers = {REQUEST_ID_HEADER: request_id(request), **(headers or {})}
    return JSONResponse(content, status_code=status, headers=all_headers)


def empty_response(request: Request, status: int = 204,
                   headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status,
                    headers={REQUEST_ID_HEADER: request_id(request), **(headers or {})})
