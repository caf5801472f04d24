"""Policies and dynamic groups as the authorizer sees them, and the ones created through the
Identity API (kept in the store beside the tenancy file's, so they survive restarts).

The cloud's own user (the key `fastfn cloud config` exports) is the tenancy's
administrator: its requests are always allowed, as a Default-domain Administrators member's
are. Everyone else gets what the policies grant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastfn.iam.evaluate import (
    Compartment,
    CompartmentTree,
    DynamicGroup,
    Policy,
    PolicySet,
)
from fastfn.iam.grammar import OtherStatement, PolicyError, parse_matching_rule, parse_statement
from fastfn.localcloud.oci.core.authz import Identities
from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.tenancy import Tenancy, TenancyFileError

POLICY = "iam_policy"
DYNAMIC_GROUP = "iam_dynamic_group"


def build_identities(tenancy: Tenancy) -> Identities:
    """Compartments, dynamic groups, policies and memberships, parsed once.

    A statement or matching rule that does not parse is a TenancyFileError naming the
    policy, the statement and the column."""
    root = tenancy.ctx.identity.tenancy_id
    tree = CompartmentTree(root, [Compartment(c["id"], c["name"], c["compartmentId"])
                                  for c in tenancy.by_kind["compartment"]])
    groups = []
    for dg in tenancy.by_kind["dynamicGroup"]:
        try:
            groups.append(DynamicGroup.parse(dg["name"], dg["id"], dg["matchingRule"]))
        except PolicyError as exc:
            raise TenancyFileError(f"dynamic group {dg['name']}: {exc}") from None
    policies = []
    for doc in tenancy.by_kind["policy"]:
        try:
            policies.append(Policy.parse(doc["name"], doc["compartmentId"], doc["statements"]))
        except PolicyError as exc:
            raise TenancyFileError(f"policy {doc['name']}: {exc}") from None
    policy_set = PolicySet(policies, tree, groups)
    names = {g["id"]: g["name"] for g in tenancy.by_kind["group"]}
    user_groups: dict[str, tuple[list[str], list[str]]] = {}
    for group_id, members in tenancy.members.items():
        for user_id in members:
            entry = user_groups.setdefault(user_id, ([], []))
            entry[0].append(names[group_id])
            entry[1].append(group_id)
    return Identities(policy_set, {u: (tuple(n), tuple(i)) for u, (n, i) in
                                   user_groups.items()},
                      admins=frozenset({tenancy.ctx.identity.user_id}))


def check_statements(statements: Any) -> list[str]:
    """A policy body's statements, each parsed: a 400 naming the statement and column."""
    if not isinstance(statements, list) or not statements or not all(
            isinstance(s, str) for s in statements):
        raise invalid("statements must be a non-empty list of strings.")
    for text in statements:
        try:
            parsed = parse_statement(text)
        except PolicyError as exc:
            raise invalid(f"statements: {exc}") from None
        if isinstance(parsed, OtherStatement):
            continue
    return list(statements)


def check_matching_rule(rule: Any) -> str:
    if not isinstance(rule, str) or not rule.strip():
        raise invalid("matchingRule is required.")
    try:
        parse_matching_rule(rule)
    except PolicyError as exc:
        raise invalid(f"matchingRule: {exc}") from None
    return rule


class CreatedIam:
    """Policies and dynamic groups written through the API: kept in the store and applied
    over the tenancy file's (an update or delete of a file's policy is kept as an override,
    so the fix made with `oci iam policy update` survives a restart); `changed` runs after
    each write (the authorizer rebuilds)."""

    def __init__(self, tenancy: Tenancy, changed: Callable[[], None]) -> None:
        self.tenancy = tenancy
        self.store = tenancy.ctx.store
        self.changed = changed
        for kind in (POLICY, DYNAMIC_GROUP):
            docs = self._docs(kind)
            for stored in self.store.find(kind):
                docs[:] = [d for d in docs if d["id"] != stored["id"]]
                if not stored.get("deleted"):
                    docs.append(stored)

    def _docs(self, kind: str) -> list[dict[str, Any]]:
        return self.tenancy.by_kind["policy" if kind == POLICY else "dynamicGroup"]

    def create(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        docs = self._docs(kind)
        if any(d["name"].lower() == doc["name"].lower() for d in docs):
            raise invalid(f"A {'policy' if kind == POLICY else 'dynamic group'} named "
                          f"{doc['name']!r} already exists.")
        short = "policy" if kind == POLICY else "dynamicgroup"
        doc = {**doc, "id": ocid(short, ""), "timeCreated": rfc3339(now()),
               "lifecycleState": "ACTIVE", "freeformTags": doc.get("freeformTags", {}),
               "definedTags": doc.get("definedTags", {})}
        self.store.put(kind, doc["id"], doc, name=doc["name"])
        docs.append(doc)
        self.changed()
        return doc

    def update(self, kind: str, id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        docs = self._docs(kind)
        current = next((d for d in docs if d["id"] == id), None)
        if current is None:
            return None
        doc = {**current, **changes}
        self.store.put(kind, id, doc, name=doc["name"])
        docs[:] = [doc if d["id"] == id else d for d in docs]
        self.changed()
        return doc

    def delete(self, kind: str, id: str) -> bool:
        docs = self._docs(kind)
        current = next((d for d in docs if d["id"] == id), None)
        if current is None:
            return False
        self.store.put(kind, id, {"id": id, "deleted": True}, name=current["name"])
        docs[:] = [d for d in docs if d["id"] != id]
        self.changed()
        return True
