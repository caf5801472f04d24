"""Authorize one request against a tenancy's policies.

Semantics (facts file §1): a policy attached in compartment C applies to C and its
descendants, names in it resolve from C; every permission a request needs must be granted
by some allow statement whose condition holds with `request.permission` set to that
permission; a condition on a variable the request does not carry is false; a deny
statement (opt-in) that matches beats any allow. Define/Endorse/Admit are not evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fastfn.iam.catalog import granted
from fastfn.iam.grammar import (
    Comparison,
    Condition,
    Location,
    OtherStatement,
    Statement,
    Subject,
    parse_matching_rule,
    parse_statement,
)


@dataclass(frozen=True, slots=True)
class Compartment:
    id: str
    name: str
    parent_id: str  # the tenancy ocid for a top-level compartment


class CompartmentTree:
    def __init__(self, tenancy_id: str, compartments: Iterable[Compartment] = ()) -> None:
        self.tenancy_id = tenancy_id
        self.by_id = {c.id: c for c in compartments}
        self._children: dict[tuple[str, str], str] = {
            (c.parent_id, c.name.lower()): c.id for c in self.by_id.values()}
        self._chain: dict[str, frozenset[str]] = {}

    def ancestors_or_self(self, compartment_id: str) -> frozenset[str]:
        chain = self._chain.get(compartment_id)
        if chain is None:
            ids = [compartment_id]
            cur = self.by_id.get(compartment_id)
            while cur is not None and cur.parent_id not in ids:
                ids.append(cur.parent_id)
                cur = self.by_id.get(cur.parent_id)
            chain = self._chain[compartment_id] = frozenset(ids)
        return chain

    def resolve(self, location: Location, attached_at: str) -> str | None:
        """The compartment ocid a statement's location names, resolved from `attached_at`."""
        if location.kind == "tenancy":
            return self.tenancy_id
        if location.by_id:
            return location.name
        parts = location.name.split(":")
        cur = attached_at
        here = self.by_id.get(attached_at)
        # a policy attached in C may name C itself, or its children relative to C
        if here is not None and here.name.lower() == parts[0].lower():
            parts = parts[1:]
        for part in parts:
            nxt = self._children.get((cur, part.lower()))
            if nxt is None:
                return None
            cur = nxt
        return cur


@dataclass(frozen=True, slots=True)
class DynamicGroup:
    name: str
    id: str
    rule: Condition

    @classmethod
    def parse(cls, name: str, id: str, matching_rule: str) -> DynamicGroup:
        return cls(name, id, parse_matching_rule(matching_rule))


@dataclass(frozen=True, slots=True)
class UserPrincipal:
    id: str
    groups: tuple[str, ...] = ()  # names
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourcePrincipal:
    """A function (type `fnfunc`) or an instance (type `instance`)."""

    type: str
    id: str
    compartment_id: str
    tags: Mapping[str, str] = field(default_factory=dict)  # "namespace.key" -> value

    def variables(self) -> dict[str, str]:
        out = {"resource.type": self.type, "resource.id": self.id,
               "resource.compartment.id": self.compartment_id}
        if self.type == "instance":
            out["instance.id"] = self.id
            out["instance.compartment.id"] = self.compartment_id
        for key, value in self.tags.items():
            out[f"tag.{key.lower()}.value"] = value
        return out


@dataclass(frozen=True, slots=True)
class ServicePrincipal:
    name: str  # e.g. faas


Principal = UserPrincipal | ResourcePrincipal | ServicePrincipal


@dataclass(frozen=True, slots=True)
class Request:
    operation: str
    permissions: tuple[str, ...]
    compartment_id: str
    variables: Mapping[str, str] = field(default_factory=dict)  # target.*, request.*


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    allowed_by: tuple[Statement, ...] = ()  # one per permission when allowed
    missing: tuple[str, ...] = ()  # permissions no statement granted
    denied_by: Statement | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    compartment_id: str  # where it is attached
    statements: tuple[Statement | OtherStatement, ...]

    @classmethod
    def parse(cls, name: str, compartment_id: str, statements: Iterable[str]) -> Policy:
        return cls(name, compartment_id, tuple(parse_statement(s) for s in statements))


@dataclass(frozen=True, slots=True)
class _Rule:
    statement: Statement
    scope: str | None  # the compartment ocid it applies to (and below)
    permissions: frozenset[str]


class PolicySet:
    """Policies parsed and resolved once; `authorize` evaluates many requests."""

    def __init__(self, policies: Iterable[Policy], tree: CompartmentTree,
                 dynamic_groups: Iterable[DynamicGroup] = ()) -> None:
        self.tree = tree
        self.dynamic_groups = tuple(dynamic_groups)
        self.rules: list[_Rule] = []
        for policy in policies:
            for st in policy.statements:
                if isinstance(st, OtherStatement):
                    continue
                perms = (frozenset(st.permissions) if st.verb is None
                         else granted(st.verb, st.resource_type or ""))
                self.rules.append(_Rule(st, tree.resolve(st.location, policy.compartment_id),
                                        perms))

    def dynamic_groups_of(self, principal: ResourcePrincipal) -> tuple[DynamicGroup, ...]:
        variables = principal.variables()
        return tuple(dg for dg in self.dynamic_groups if holds(dg.rule, variables))

    def authorize(self, principal: Principal, request: Request) -> Decision:
        names, ids = self._identities(principal)
        chain = self.tree.ancestors_or_self(request.compartment_id)
        variables = dict(request.variables)
        variables["request.operation"] = request.operation
        variables.update(_principal_variables(principal))
        applicable = [r for r in self.rules
                      if r.scope in chain and _subject_matches(r.statement.subject, principal,
                                                               names, ids)]
        allowed_by: list[Statement] = []
        missing: list[str] = []
        for perm in request.permissions:
            variables["request.permission"] = perm
            winner: Statement | None = None
            for rule in applicable:
                if perm not in rule.permissions:
                    continue
                cond = rule.statement.condition
                if cond is not None and not holds(cond, variables):
                    continue
                if rule.statement.effect == "deny":
                    return Decision(False, (), (perm,), rule.statement)
                winner = winner or rule.statement
            if winner is None:
                missing.append(perm)
            else:
                allowed_by.append(winner)
        if missing:
            return Decision(False, (), tuple(missing))
        return Decision(True, tuple(allowed_by))

    def _identities(self, principal: Principal) -> tuple[frozenset[str], frozenset[str]]:
        if isinstance(principal, UserPrincipal):
            return (frozenset(_bare(g) for g in principal.groups), frozenset(principal.group_ids))
        if isinstance(principal, ResourcePrincipal):
            dgs = self.dynamic_groups_of(principal)
            return frozenset(_bare(d.name) for d in dgs), frozenset(d.id for d in dgs)
        return frozenset({principal.name.lower()}), frozenset()


def authorize(policies: PolicySet, principal: Principal, request: Request) -> Decision:
    return policies.authorize(principal, request)


def _bare(name: str) -> str:
    # 'Default'/'Admins' names the group Admins in the default identity domain
    domain, _, rest = name.rpartition("/")
    return (rest if domain.lower() in ("", "default") else name).lower()


def _subject_matches(subject: Subject, principal: Principal, names: frozenset[str],
                     ids: frozenset[str]) -> bool:
    kind = subject.kind
    if kind == "service":
        return isinstance(principal, ServicePrincipal) and any(n in names for n in subject.names)
    if isinstance(principal, ServicePrincipal):
        return False
    if kind == "any-user":
        return True
    if kind == "any-group":
        return isinstance(principal, UserPrincipal)
    wanted_kind = "group" if isinstance(principal, UserPrincipal) else "dynamic-group"
    if kind != wanted_kind:
        return False
    if subject.by_id:
        return any(n in ids for n in subject.names)
    return any(_bare(n) in names for n in subject.names)


def _principal_variables(principal: Principal) -> dict[str, str]:
    if isinstance(principal, UserPrincipal):
        return {"request.principal.type": "user", "request.principal.id": principal.id}
    if isinstance(principal, ResourcePrincipal):
        return {"request.principal.type": principal.type, "request.principal.id": principal.id,
                "request.principal.compartment.id": principal.compartment_id}
    return {"request.principal.type": "service", "request.principal.name": principal.name}


def holds(cond: Condition, variables: Mapping[str, str]) -> bool:
    """Evaluate a condition; a comparison on a variable not in `variables` is false."""
    if isinstance(cond, Comparison):
        value = variables.get(cond.variable)
        if value is None:
            return False
        if cond.pattern is not None:
            equal = cond.pattern.match(value) is not None
        else:
            equal = value.lower() == cond.value.lower()  # OCI matching is case-insensitive
        return equal if cond.op == "=" else not equal
    if cond.mode == "all":
        return all(holds(c, variables) for c in cond.items)
    return any(holds(c, variables) for c in cond.items)
