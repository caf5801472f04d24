"""Listing a bucket: objects by name (with prefixes and start/end bounds) and every
version of every object (versioned buckets)."""

from __future__ import annotations

from typing import Any

from fastfn.localcloud.oci.core.store import Store
from fastfn.localcloud.oci.objectstorage.models import OBJECT, OBJECT_VERSION, object_fields

Doc = dict[str, Any]


def list_objects(store: Store, bucket: Doc, prefix: str, start: str, start_after: str | None,
                 end: str | None, delimiter: str | None, limit: int,
                 fields: list[str]) -> Doc:
    objects: list[Doc] = []
    prefixes: list[str] = []
    next_start: str | None = None
    # Walk names in order from an inclusive lower bound; `exclusive` drops one name
    # equal to it (startAfter, or the last name of the previous batch).
    cursor, exclusive = start, None
    if start_after is not None and start_after >= start:
        cursor, exclusive = start_after, start_after
    while next_start is None:
        batch = [o for o in store.names_from(OBJECT, bucket["id"], cursor, prefix,
                                                  end, 1000)
                 if o["name"] != exclusive]
        if not batch:
            break
        jumped = False
        for obj in batch:
            name = obj["name"]
            if len(objects) + len(prefixes) >= limit:
                next_start = name
                break
            rest = name[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest[:rest.index(delimiter) + 1]
                if common not in prefixes:
                    prefixes.append(common)
                # Skip everything under this prefix: no name sorts after U+10FFFF.
                cursor, exclusive, jumped = common + "\U0010ffff", None, True
                break
            objects.append(object_fields(obj, fields))
        if not jumped:
            cursor = exclusive = batch[-1]["name"]
    body: Doc = {"objects": objects}
    if delimiter:
        body["prefixes"] = prefixes
    if next_start is not None:
        body["nextStartWith"] = next_start
    return body

def list_versions(store: Store, bucket: Doc, prefix: str, start: str, end: str | None,
                  start_after: str | None, delimiter: str | None
                  ) -> tuple[list[Doc], list[str]]:
    """Every version (current ones included), by name then newest first."""
    docs = [*store.find(OBJECT, parent=bucket["id"]),
            *store.find(OBJECT_VERSION, parent=bucket["id"])]
    items: list[Doc] = []
    prefixes: list[str] = []
    for doc in sorted(docs, key=lambda d: (d["name"].encode(), -d.get("seq", 0))):
        name = doc["name"]
        if (not name.startswith(prefix) or name < start
                or (end is not None and name >= end)
                or (start_after is not None and name <= start_after)):
            continue
        rest = name[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest[:rest.index(delimiter) + 1]
            if common not in prefixes:
                prefixes.append(common)
            continue
        items.append({**doc, "isDeleteMarker": bool(doc.get("isDeleteMarker"))})
    return items, prefixes
