"""Over-broad or broken policy statements, each with the statement that should replace it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from fastfn.iam.grammar import Comparison, Condition, PolicyError, Statement, parse_statement

Level = Literal["error", "warning"]

# a family granted to a workload where the one type it uses is enough
_FAMILY_TYPE = {"functions-family": "fn-invocation", "object-family": "objects",
                "secret-family": "secret-bundles", "virtual-network-family": "subnets",
                "instance-family": "instances", "compute-management-family": "instance-pools"}
# the least verb a workload's calls on these types take (reads and object writes)
_WORKLOAD_VERB = {"secret-bundles": "read", "secrets": "read", "repos": "read",
                  "fn-invocation": "use", "objects": "use", "buckets": "read",
                  "subnets": "use", "vnics": "use", "keys": "use"}


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    rule: str
    policy: str
    statement: str
    message: str
    replacement: str = ""  # the statement to use instead ("" = delete it)


@dataclass(frozen=True, slots=True)
class TenancyNames:
    """What the tenancy has, to flag statements naming something it does not."""

    compartments: frozenset[str]  # names, lower-case
    groups: frozenset[str]
    dynamic_groups: frozenset[str]


def _variables(cond: Condition | None) -> set[str]:
    if cond is None:
        return set()
    if isinstance(cond, Comparison):
        return {cond.variable}
    out: set[str] = set()
    for item in cond.items:
        out |= _variables(item)
    return out


def _subject_text(st: Statement) -> str:
    s = st.subject
    if not s.names:
        return s.kind
    return f"{s.kind} {'id ' if s.by_id else ''}{', '.join(s.names)}"


def _location_text(st: Statement) -> str:
    loc = st.location
    if loc.kind == "tenancy":
        return "tenancy"
    return f"compartment {'id ' if loc.by_id else ''}{loc.name}"


def _where(st: Statement) -> str:
    head = st.text.lower().find(" where ")
    return st.text[head:] if head >= 0 else ""


def lint_statement(policy: str, text: str, tenancy: TenancyNames | None = None,
                   compartment: str = "<function-compartment>") -> list[Finding]:
    try:
        st = parse_statement(text)
    except PolicyError as err:
        return [Finding("error", "syntax", policy, text, str(err))]
    if not isinstance(st, Statement):
        return []
    found: list[Finding] = []

    def add(level: Level, rule: str, message: str, replacement: str = "") -> None:
        found.append(Finding(level, rule, policy, st.text, message, replacement))

    subj, loc, where = _subject_text(st), _location_text(st), _where(st)
    workload = st.subject.kind in ("dynamic-group", "service", "any-user")
    rtype = st.resource_type or ""
    if tenancy is not None:
        known = {"group": tenancy.groups, "dynamic-group": tenancy.dynamic_groups}.get(
            st.subject.kind)
        if known is not None and not st.subject.by_id:
            for name in st.subject.names:
                if name.rpartition("/")[2].lower() not in known:
                    add("error", "unknown-subject", f"the tenancy has no {st.subject.kind} "
                        f"{name!r}")
        if st.location.kind == "compartment" and not st.location.by_id:
            for part in st.location.name.split(":"):
                if part.lower() not in tenancy.compartments:
                    add("error", "unknown-compartment", f"the tenancy has no compartment "
                        f"{part!r}")
    if st.effect != "allow" or st.verb is None:
        return found
    if rtype == "repos" and st.verb == "manage" and st.location.kind == "tenancy":
        add("error", "repos-in-tenancy",
            "manage repos in tenancy (seed 001's workaround) lets the group change every "
            "repository; create the repository in the function's compartment first: `oci "
            "artifacts container repository create --display-name <name> --compartment-id "
            "<c>`, then grant it there only",
            f"Allow {subj} to manage repos in compartment {compartment}")
        return found
    if rtype == "keys" and st.verb == "use" and st.subject.kind == "dynamic-group":
        add("warning", "keys-not-needed", "reading a secret's value (GetSecretBundle) needs "
            "nothing on keys; delete this statement unless the function encrypts or signs")
    if rtype == "secret-bundles" and not (_variables(st.condition)
                                          & {"target.secret.id", "target.secret.name"}):
        add("warning", "secret-unscoped", "read secret-bundles without a where on "
            "target.secret.id/name lets the principal read every secret in the compartment",
            f"Allow {subj} to read secret-bundles in {loc} where target.secret.name = "
            "'<secret-name>'")
    if workload and rtype in _FAMILY_TYPE and not (
            st.subject.kind == "service" and rtype == "virtual-network-family"):
        one = _FAMILY_TYPE[rtype]
        add("warning", "family", f"{rtype} where one type suffices",
            f"Allow {subj} to {_WORKLOAD_VERB.get(one, st.verb)} {one} in {loc}{where}")
    if workload and st.verb == "manage" and rtype in _WORKLOAD_VERB and (
            "request.permission" not in _variables(st.condition)):
        verb = _WORKLOAD_VERB[rtype]
        add("warning", "manage", f"manage {rtype} where the calls a workload makes take "
            f"'{verb}'", f"Allow {subj} to {verb} {rtype} in {loc}{where}")
    if workload and st.location.kind == "tenancy":
        add("warning", "tenancy", "in tenancy where a compartment suffices",
            f"Allow {subj} to {st.verb} {rtype} in compartment {compartment}{where}")
    return found


def lint(policies: Iterable[tuple[str, Iterable[str]]],
         tenancy: TenancyNames | None = None) -> list[Finding]:
    """Findings for (policy name, statements) pairs."""
    out: list[Finding] = []
    for name, statements in policies:
        for text in statements:
            out.extend(lint_statement(name, text, tenancy))
    return out
