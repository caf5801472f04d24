"""Policy statement and matching-rule grammar: valid forms and errors with their column."""

from __future__ import annotations

import pytest

from fastfn.iam.grammar import (
    Comparison,
    ConditionGroup,
    OtherStatement,
    PolicyError,
    Statement,
    parse_matching_rule,
    parse_statement,
)


def st(text: str) -> Statement:
    out = parse_statement(text)
    assert isinstance(out, Statement)
    return out


def test_basic_statement() -> None:
    s = st("Allow group Admins to manage all-resources in tenancy")
    assert (s.effect, s.subject.kind, s.subject.names) == ("allow", "group", ("Admins",))
    assert (s.verb, s.resource_type, s.location.kind) == ("manage", "all-resources", "tenancy")
    assert s.condition is None


@pytest.mark.parametrize(("text", "kind", "names", "by_id"), [
    ("Allow group id ocid1.group.oc1..a to read objects in tenancy", "group",
     ("ocid1.group.oc1..a",), True),
    ("Allow group A, B to read objects in tenancy", "group", ("A", "B"), False),
    ("Allow group 'Default'/'Admins' to read objects in tenancy", "group",
     ("Default/Admins",), False),
    ("Allow dynamic-group fn-dg to read objects in tenancy", "dynamic-group", ("fn-dg",), False),
    ("Allow any-user to read objects in tenancy", "any-user", (), False),
    ("Allow any-group to read objects in tenancy", "any-group", (), False),
    ("Allow service FaaS, objectstorage-eu-frankfurt-1 to read repos in tenancy", "service",
     ("faas", "objectstorage-eu-frankfurt-1"), False),
])
def test_subjects(text: str, kind: str, names: tuple[str, ...], by_id: bool) -> None:
    s = st(text)
    assert (s.subject.kind, s.subject.names, s.subject.by_id) == (kind, names, by_id)


@pytest.mark.parametrize("verb", ["inspect", "READ", "use", "Manage"])
def test_verbs(verb: str) -> None:
    assert st(f"allow group g to {verb} buckets in tenancy").verb == verb.lower()


def test_permission_list() -> None:
    s = st("Allow group g to {OBJECT_READ, object_create} in compartment Dev")
    assert s.verb is None and s.permissions == ("OBJECT_READ", "OBJECT_CREATE")


@pytest.mark.parametrize(("where", "name", "by_id"), [
    ("compartment Dev", "Dev", False),
    ("compartment Dev:Team", "Dev:Team", False),
    ("compartment id ocid1.compartment.oc1..x", "ocid1.compartment.oc1..x", True),
])
def test_locations(where: str, name: str, by_id: bool) -> None:
    loc = st(f"Allow group g to read objects in {where}").location
    assert (loc.kind, loc.name, loc.by_id) == ("compartment", name, by_id)


def test_conditions_nested_patterns_and_operators() -> None:
    s = st("Allow group g to manage objects in tenancy where all {target.bucket.name = /rep*/,"
           " any {request.permission='OBJECT_READ', request.operation != \"DeleteObject\"}}")
    cond = s.condition
    assert isinstance(cond, ConditionGroup) and cond.mode == "all"
    first, second = cond.items
    assert isinstance(first, Comparison) and first.pattern is not None
    assert first.pattern.match("reports") and not first.pattern.match("xreports")
    assert isinstance(second, ConditionGroup) and second.mode == "any"
    assert isinstance(second.items[1], Comparison) and second.items[1].op == "!="


def test_single_condition_and_multiline() -> None:
    s = st("Allow group g to read secret-bundles in tenancy\n  where target.secret.name = 'x'")
    assert s.condition == Comparison("target.secret.name", "=", "x")


@pytest.mark.parametrize("kw", ["Define", "Endorse", "Admit"])
def test_cross_tenancy_recognised(kw: str) -> None:
    out = parse_statement(f"{kw} tenancy Other as ocid1.tenancy.oc1..x")
    assert isinstance(out, OtherStatement) and out.keyword == kw.lower()


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("Allow group Admins manage all-resources in tenancy", 20, "'to' after the subject"),
    ("Permit group g to read objects in tenancy", 1, "'Allow'"),
    ("Allow groop g to read objects in tenancy", 7, "a subject"),
    ("Allow group g to eat objects in tenancy", 18, "a verb"),
    ("Allow group g to read objects at tenancy", 31, "'in' after the resource type"),
    ("Allow group g to read objects in galaxy", 34, "'tenancy' or 'compartment'"),
    ("Allow group g to read objects in tenancy where", 47, "a condition variable"),
    ("Allow group g to read objects in tenancy where x", 49, "'=' or '!='"),
    ("Allow group g to read objects in tenancy where any {x = 'a'", 60, "',' or '}'"),
    ("Allow group g to read objects in tenancy extra", 42, "'where' or the end"),
    ("Allow group g to {A, B in tenancy", 24, "',' or '}'"),
    ("Allow group g to read objects in tenancy where x = 'a", 52, "unterminated"),
])
def test_errors_name_column_and_expectation(text: str, column: int, expected: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_statement(text)
    assert err.value.column == column
    assert expected in err.value.message
    assert err.value.text == text
    assert f"column {column}" in str(err.value)


def test_matching_rules() -> None:
    rule = parse_matching_rule(
        "ALL {resource.type = 'fnfunc', resource.compartment.id = 'ocid1.compartment.oc1..s'}")
    assert isinstance(rule, ConditionGroup) and rule.mode == "all" and len(rule.items) == 2
    nested = parse_matching_rule(
        "Any {instance.id = 'i1', ALL {instance.compartment.id = 'c', tag.ns.role.value = 'web'}}")
    assert isinstance(nested, ConditionGroup) and isinstance(nested.items[1], ConditionGroup)
    assert parse_matching_rule("resource.id = 'f1'") == Comparison("resource.id", "=", "f1")
    with pytest.raises(PolicyError) as err:
        parse_matching_rule("ALL {resource.type = 'fnfunc'} extra")
    assert err.value.column == 32
