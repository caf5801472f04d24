"""Wire-format plumbing shared by the services: camelCase models, bodies, pagination."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fastfn.localcloud.oci.errors import REQUEST_ID_HEADER, invalid, request_id
from fastfn.localcloud.oci.ids import rfc3339

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BODY = 1024 * 1024
# OCI's request bodies nest a handful of levels (tags: 3); deeper input is refused so that
# neither parsing nor later recursive walks (rule conditions, serialisation) can overflow.
MAX_JSON_DEPTH = 32
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000


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


def page_limit(request: Request, default: int = DEFAULT_PAGE_LIMIT,
               maximum: int = MAX_PAGE_LIMIT) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise invalid("limit must be an integer.") from None
    if not 1 <= limit <= maximum:
        raise invalid(f"limit must be between 1 and {maximum}.")
    return limit


def _encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_page(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    except (ValueError, KeyError, TypeError):
        raise invalid("Invalid page token.") from None
    if not isinstance(offset, int) or offset < 0:
        raise invalid("Invalid page token.")
    return offset


def page(request: Request, items: Sequence[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of a list and its opc-next-page header, as OCI list operations page."""
    limit = page_limit(request)
    token = request.query_params.get("page")
    start = _decode_page(token) if token else 0
    headers = {}
    if start + limit < len(items):
        headers["opc-next-page"] = _encode_page(start + limit)
    return list(items[start:start + limit]), headers


def paginated(request: Request, items: Sequence[Any]) -> Response:
    chunk, headers = page(request, items)
    return json_response(request, chunk, headers=headers)


def sort_items(request: Request, items: list[dict[str, Any]],
               default_by: str = "timeCreated") -> list[dict[str, Any]]:
    """OCI's sortBy/sortOrder for list operations (timeCreated, displayName, name)."""
    by = request.query_params.get("sortBy") or default_by
    key = {"timeCreated": "timeCreated", "TIMECREATED": "timeCreated",
           "displayName": "displayName", "DISPLAYNAME": "displayName",
           "name": "name", "NAME": "name", "id": "id"}.get(by)
    if key is None:
        raise invalid(f"Unsupported sortBy {by!r}.")
    order = (request.query_params.get("sortOrder") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise invalid("sortOrder must be ASC or DESC.")
    return sorted(items, key=lambda d: str(d.get(key) or ""), reverse=order == "DESC")
