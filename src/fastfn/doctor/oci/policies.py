"""The tenancy's policies as the evaluator's PolicySet, built from what the SDK returned."""

from __future__ import annotations

from dataclasses import dataclass

from fastfn.doctor.oci.facts import Facts
from fastfn.iam.evaluate import (
    Compartment,
    CompartmentTree,
    DynamicGroup,
    Policy,
    PolicySet,
    Principal,
    Request,
)
from fastfn.iam.grammar import PolicyError, parse_statement


@dataclass(frozen=True)
class Evaluated:
    policies: PolicySet
    unreadable: tuple[str, ...]  # statements that do not parse (policy: text: error)


def policy_set(facts: Facts) -> Evaluated:
    tree = CompartmentTree(facts.tenancy_id, [
        Compartment(c.id, c.name, c.compartment_id) for c in facts.compartments])
    policies, bad = [], []
    for p in facts.policies:
        statements = []
        for text in p.statements or []:
            try:
                statements.append(parse_statement(text))
            except PolicyError as exc:
                bad.append(f"{p.name}: {exc}")
        policies.append(Policy(p.name, p.compartment_id, tuple(statements)))
    groups = []
    for dg in facts.dynamic_groups:
        try:
            groups.append(DynamicGroup.parse(dg.name, dg.id, dg.matching_rule))
        except PolicyError as exc:
            bad.append(f"dynamic group {dg.name}: {exc}")
    return Evaluated(PolicySet(policies, tree, groups), tuple(bad))


def allowed_by(evaluated: Evaluated, principal: Principal, request: Request) -> str | None:
    """The statement that allows the request (its text), or None when it is denied."""
    decision = evaluated.policies.authorize(principal, request)
    if not decision.allowed:
        return None
    return str(getattr(decision.allowed_by[0], "text", "")) if decision.allowed_by else ""
