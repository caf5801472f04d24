"""GET /items pages, bounded by bytes as well as by `limit`.

A Fn response body is at most 6 MB; 500 items of 10,000-character descriptions are about
10 MB of JSON, and up to 60 KB each once escaped (a control character is 6 bytes as
\\u00XX). So a page stops before its JSON would pass MAX_PAGE_BYTES; `next_after` is then
the id of the last item it holds, so the next page starts right after it: nothing is
skipped or repeated. A page always holds at least one item (one item is under 70 KB).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from store import Item

MAX_PAGE_BYTES = 5_000_000
# Starlette's JSONResponse encoding, so pages read the same as every other reply.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def page_json(items: Sequence[Item], limit: int, max_bytes: int = MAX_PAGE_BYTES) -> bytes:
    """{"items": [...], "next_after": id | null} as UTF-8 JSON of at most max_bytes
    (for items of the service's sizes)."""
    parts: list[bytes] = []
    size = len(b'{"items":[],"next_after":2147483647}')
    for item in items:
        part = _encode(item.as_json()).encode("utf-8")
        if parts and size + len(part) + 1 > max_bytes:
            break
        parts.append(part)
        size += len(part) + 1
    full = len(parts) == limit or len(parts) < len(items)
    next_after = items[len(parts) - 1].id if parts and full else None
    return b'{"items":[' + b",".join(parts) + b'],"next_after":' + \
        _encode(next_after).encode() + b"}"
