"""`fastfn iam suggest`: the least-privilege statements for what a principal really did.

Input: the operations the local cloud recorded (`fastfn cloud up --record`, JSON lines:
principal, operation, resource type, permissions, compartment, target variables). Output:
per compartment and resource type, the smallest verb that covers the permissions used,
narrowed
- to the bucket (`target.bucket.name`) for objects and buckets, one statement per bucket;
- to the secrets read (`target.secret.name`) for secrets and secret bundles;
- to exactly the permissions used (`request.permission`) when the verb would grant more
  at `use` or `manage` (e.g. no OBJECT_VERSION_DELETE with `manage objects`).
Permissions that span resource types (ListVnicAttachments' INSTANCE_INSPECT) fall back to
the permission-list form `{A, B}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastfn.iam.catalog import PERMISSIONS, granted, least_verb

# the variable that narrows each resource type, when the records carry it
_NARROW_BY = {"objects": "target.bucket.name", "buckets": "target.bucket.name",
              "secret-bundles": "target.secret.name", "secrets": "target.secret.name"}
_PER_TARGET = {"objects", "buckets"}  # one statement per bucket (others: any {...})


@dataclass
class Suggestion:
    statement: str
    operations: list[str] = field(default_factory=list)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "") + "'"


def _any(variable: str, values: Iterable[str]) -> str:
    items = [f"{variable} = {_quote(v)}" for v in sorted(set(values))]
    return items[0] if len(items) == 1 else "any {" + ", ".join(items) + "}"


def _where(parts: list[str]) -> str:
    if not parts:
        return ""
    return " where " + (parts[0] if len(parts) == 1 else "all {" + ", ".join(parts) + "}")


def principals(records: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The distinct principals in the records, in order of appearance."""
    seen: dict[str, dict[str, str]] = {}
    for r in records:
        p = r.get("principal") or {}
        if p.get("id") and p["id"] not in seen:
            seen[p["id"]] = {k: str(v or "") for k, v in p.items()}
    return list(seen.values())


def suggest(records: Iterable[Mapping[str, Any]], subject: str,
            principal_id: str | None = None) -> list[Suggestion]:
    """Statements for `subject` (e.g. "dynamic-group my-dg") allowing exactly the recorded
    operations of `principal_id` (all principals when None)."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in records:
        if principal_id and (r.get("principal") or {}).get("id") != principal_id:
            continue
        rtype, compartment = str(r["resourceType"]), str(r["compartmentId"])
        variables = r.get("variables") or {}
        narrow = _NARROW_BY.get(rtype)
        value = variables.get(narrow, "") if narrow else ""
        key = (compartment, rtype, value if rtype in _PER_TARGET else "")
        group = groups.setdefault(key, {"permissions": set(), "values": set(),
                                        "operations": []})
        group["permissions"] |= set(r.get("permissions") or ())
        if value:
            group["values"].add(value)
        elif narrow:
            group["unnarrowed"] = True  # some call had no such target: cannot narrow
        op = str(r["operation"])
        if op not in group["operations"]:
            group["operations"].append(op)
    out = []
    for (compartment, rtype, _), group in sorted(groups.items()):
        perms: set[str] = group["permissions"]
        if not perms:
            continue
        location = f"in compartment id {compartment}"
        conditions: list[str] = []
        narrow = _NARROW_BY.get(rtype)
        if narrow and group["values"] and not group.get("unnarrowed"):
            conditions.append(_any(narrow, group["values"]))
        verb = least_verb(rtype, frozenset(perms)) if rtype in PERMISSIONS else None
        if verb is None:
            text = "{" + ", ".join(sorted(perms)) + "}"
            out.append(Suggestion(f"Allow {subject} to {text} {location}"
                                  f"{_where(conditions)}", group["operations"]))
            continue
        if verb in ("use", "manage") and granted(verb, rtype) - perms:
            conditions.append(_any("request.permission", perms))
        out.append(Suggestion(f"Allow {subject} to {verb} {rtype} {location}"
                              f"{_where(conditions)}", group["operations"]))
    return out
