"""What every list operation does: exact-match filters, sortBy/sortOrder, summaries
without empty fields, and OCI's limit/page paging with opc-next-page."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.core.wire import json_response

Doc = dict[str, Any]

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000


def drop_none(doc: Mapping[str, Any]) -> Doc:
    """A resource as OCI sends it: fields without a value are left out."""
    return {k: v for k, v in doc.items() if v is not None}


def summary(doc: Mapping[str, Any], keys: Iterable[str]) -> Doc:
    """The fields of a list item's summary that have a value."""
    return {k: doc[k] for k in keys if doc.get(k) is not None}


def filter_by(items: Iterable[Doc], query: Mapping[str, str],
              fields: Mapping[str, str]) -> list[Doc]:
    """Items whose field equals each given query parameter (`fields`: parameter -> field)."""
    wanted = {field: query[param] for param, field in fields.items() if query.get(param)}
    return [i for i in items if all(i.get(f) == v for f, v in wanted.items())]


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


def docs_get(docs: Sequence[Doc], kind: str) -> Any:
    """A GET /<kind>s/{id} handler over a fixed list of documents."""
    from fastfn.localcloud.oci.core.errors import not_found

    async def handler(request: Request) -> Response:
        wanted = request.path_params["id"]
        for doc in docs:
            if doc["id"] == wanted:
                return json_response(request, drop_none(doc))
        raise not_found(kind)
    return handler


def docs_list(docs: Sequence[Doc], needs_compartment: bool = True,
              filters: tuple[str, ...] = ("vcnId",)) -> Any:
    """A GET /<kind>s handler over a fixed list: compartmentId, name/displayName,
    lifecycleState and the given exact-match filters."""
    from fastfn.localcloud.oci.core.errors import missing

    async def handler(request: Request) -> Response:
        q = request.query_params
        found = list(docs)
        if needs_compartment:
            if not q.get("compartmentId"):
                raise missing("compartmentId")
            found = filter_by(found, q, {"compartmentId": "compartmentId"})
        return paginated(request, [drop_none(d) for d in narrow(found, q, filters)])
    return handler


def narrow(docs: Iterable[Doc], q: Mapping[str, str], filters: tuple[str, ...]) -> list[Doc]:
    found = filter_by(docs, q, {f: f for f in (*filters, "lifecycleState")})
    name = q.get("name") or q.get("displayName")
    if name:
        found = [d for d in found if name in (d.get("name"), d.get("displayName"))]
    return found
