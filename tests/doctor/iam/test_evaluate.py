"""authorize(): verbs and families, inheritance, conditions, deny, seed 001 and the mailer."""

from __future__ import annotations

import pytest

from fastfn.iam.catalog import OPERATIONS, granted, resource_types
from fastfn.iam.evaluate import (
    Compartment,
    CompartmentTree,
    DynamicGroup,
    Policy,
    PolicySet,
    Request,
    ResourcePrincipal,
    ServicePrincipal,
    UserPrincipal,
    authorize,
)

TEN = "ocid1.tenancy.oc1..root"
SANDBOX = "ocid1.compartment.oc1..sandbox"
TEAM = "ocid1.compartment.oc1..team"
OTHER = "ocid1.compartment.oc1..other"
TREE = CompartmentTree(TEN, [Compartment(SANDBOX, "Sandbox", TEN),
                             Compartment(TEAM, "Team", SANDBOX),
                             Compartment(OTHER, "Other", TEN)])
FN_ID = "ocid1.fnfunc.oc1..mailer"
FN = ResourcePrincipal("fnfunc", FN_ID, SANDBOX)
USER = UserPrincipal("ocid1.user.oc1..u", groups=("CI-CD-Deployers",),
                     group_ids=("ocid1.group.oc1..ci",))


def pset(*statements: str, at: str = TEN, dgs: tuple[DynamicGroup, ...] = ()) -> PolicySet:
    return PolicySet([Policy.parse("p", at, statements)], TREE, dgs)


def op_request(name: str, compartment: str = SANDBOX, **variables: str) -> Request:
    op = OPERATIONS[name]
    return Request(name, op.permissions, compartment, variables)


@pytest.mark.parametrize(("verb", "op", "allowed"), [
    ("inspect", "ListObjects", True), ("inspect", "GetObject", False),
    ("read", "GetObject", True), ("read", "PutObject.overwrite", False),
    ("use", "PutObject.overwrite", True), ("use", "PutObject.create", False),
    ("manage", "PutObject.create", True), ("manage", "DeleteObject", True),
])
def test_verbs_are_cumulative(verb: str, op: str, allowed: bool) -> None:
    ps = pset(f"Allow group CI-CD-Deployers to {verb} objects in tenancy")
    assert authorize(ps, USER, op_request(op)).allowed is allowed


@pytest.mark.parametrize(("family", "op"), [
    ("functions-family", "InvokeFunction"), ("functions-family", "CreateApplication"),
    ("functions-family", "UpdateFunction"), ("virtual-network-family", "GetSubnet"),
    ("compute-management-family", "GetInstancePool"), ("object-family", "GetBucket"),
    ("all-resources", "GetSecretBundle"),
])
def test_families_expand(family: str, op: str) -> None:
    ps = pset(f"Allow group CI-CD-Deployers to manage {family} in tenancy")
    assert authorize(ps, USER, op_request(op)).allowed


def test_instance_pools_are_not_instance_family() -> None:
    assert "instance-pools" not in resource_types("instance-family")
    ps = pset("Allow group CI-CD-Deployers to manage instance-family in tenancy")
    assert not authorize(ps, USER, op_request("GetInstancePool")).allowed


def test_fn_invocation_has_only_use() -> None:
    assert granted("read", "fn-invocation") == frozenset()
    assert granted("use", "fn-invocation") == {"FN_INVOCATION"}


def test_inheritance_down_the_tree_not_up_or_sideways() -> None:
    ps = pset("Allow group CI-CD-Deployers to read objects in compartment Sandbox")
    assert authorize(ps, USER, op_request("GetObject", SANDBOX)).allowed
    assert authorize(ps, USER, op_request("GetObject", TEAM)).allowed
    assert not authorize(ps, USER, op_request("GetObject", TEN)).allowed
    assert not authorize(ps, USER, op_request("GetObject", OTHER)).allowed


def test_names_resolve_from_where_the_policy_is_attached() -> None:
    # attached in Sandbox, `compartment Team` is Sandbox:Team; from the root it names nothing
    in_sandbox = pset("Allow group CI-CD-Deployers to read objects in compartment Team",
                      at=SANDBOX)
    assert authorize(in_sandbox, USER, op_request("GetObject", TEAM)).allowed
    at_root = pset("Allow group CI-CD-Deployers to read objects in compartment Team")
    assert not authorize(at_root, USER, op_request("GetObject", TEAM)).allowed
    path = pset("Allow group CI-CD-Deployers to read objects in compartment Sandbox:Team")
    assert authorize(path, USER, op_request("GetObject", TEAM)).allowed
    assert not authorize(path, USER, op_request("GetObject", SANDBOX)).allowed
    by_id = pset(f"Allow group CI-CD-Deployers to read objects in compartment id {TEAM}")
    assert authorize(by_id, USER, op_request("GetObject", TEAM)).allowed


def test_subjects_by_name_id_domain_and_any() -> None:
    req = op_request("GetObject")
    for subject in ("group ci-cd-deployers", "group id ocid1.group.oc1..ci",
                    "group 'Default'/'CI-CD-Deployers'", "any-user", "any-group",
                    "group Other, CI-CD-Deployers"):
        assert authorize(pset(f"Allow {subject} to read objects in tenancy"), USER, req).allowed
    for subject in ("group Other", "dynamic-group CI-CD-Deployers", "service faas",
                    "group 'OtherDomain'/'CI-CD-Deployers'"):
        assert not authorize(pset(f"Allow {subject} to read objects in tenancy"),
                             USER, req).allowed


def test_service_principal() -> None:
    ps = pset("Allow service FAAS to read repos in tenancy")
    assert authorize(ps, ServicePrincipal("faas"), op_request("PullImage")).allowed
    assert not authorize(ps, ServicePrincipal("events"), op_request("PullImage")).allowed
    assert not authorize(ps, USER, op_request("PullImage")).allowed


@pytest.mark.parametrize(("rule", "member"), [
    (f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{SANDBOX}'}}", True),
    (f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{OTHER}'}}", False),
    (f"Any {{resource.id = '{FN_ID}', resource.id = 'x'}}", True),
    ("ALL {resource.type = 'instance'}", False),
    (f"ANY {{resource.id = 'x', ALL {{resource.type = 'fnfunc', resource.id = '{FN_ID}'}}}}",
     True),
    ("tag.ops.role.value = 'mailer'", True),
    ("tag.ops.role.value = 'web'", False),
    ("instance.id = 'ocid1.fnfunc.oc1..mailer'", False),  # not an instance: inapplicable
])
def test_dynamic_group_matching_rules(rule: str, member: bool) -> None:
    fn = ResourcePrincipal("fnfunc", FN_ID, SANDBOX, {"ops.role": "mailer"})
    dg = DynamicGroup.parse("fn-dg", "ocid1.dynamicgroup.oc1..d", rule)
    ps = pset("Allow dynamic-group fn-dg to read objects in tenancy", dgs=(dg,))
    assert authorize(ps, fn, op_request("GetObject")).allowed is member


def test_instance_principal_rules() -> None:
    inst = ResourcePrincipal("instance", "ocid1.instance.oc1..i", TEAM)
    dg = DynamicGroup.parse("pool", "ocid1.dynamicgroup.oc1..p",
                            f"instance.compartment.id = '{TEAM}'")
    ps = pset("Allow dynamic-group id ocid1.dynamicgroup.oc1..p to read objects in tenancy",
              dgs=(dg,))
    assert authorize(ps, inst, op_request("GetObject", TEAM)).allowed


@pytest.mark.parametrize(("where", "variables", "allowed"), [
    ("target.bucket.name = 'reports'", {"target.bucket.name": "reports"}, True),
    ("target.bucket.name = 'reports'", {"target.bucket.name": "other"}, False),
    ("target.bucket.name != 'reports'", {"target.bucket.name": "other"}, True),
    ("target.bucket.name = 'Reports'", {"target.bucket.name": "reports"}, True),
    ("target.bucket.name = /REP*/", {"target.bucket.name": "reports"}, True),
    ("target.bucket.name = /rep*/", {"target.bucket.name": "reports-2026"}, True),
    ("target.bucket.name = /*-state/", {"target.bucket.name": "reports"}, False),
    ("any {target.bucket.name = 'a', target.bucket.name = 'b'}", {"target.bucket.name": "b"},
     True),
    ("all {target.bucket.name = 'a', request.operation = 'GetObject'}",
     {"target.bucket.name": "a"}, True),
    ("all {target.bucket.name = 'a', request.operation = 'ListObjects'}",
     {"target.bucket.name": "a"}, False),
    # a variable the request does not carry makes the condition false, for != too
    ("target.secret.id = 'x'", {}, False),
    ("target.secret.id != 'x'", {}, False),
    ("request.principal.type = 'user'", {}, True),
])
def test_conditions(where: str, variables: dict[str, str], allowed: bool) -> None:
    ps = pset(f"Allow group CI-CD-Deployers to read objects in tenancy where {where}")
    assert authorize(ps, USER, op_request("GetObject", **variables)).allowed is allowed


def test_request_permission_condition_is_per_permission() -> None:
    ps = pset("Allow group CI-CD-Deployers to manage objects in tenancy where "
              "request.permission = 'OBJECT_CREATE'")
    assert authorize(ps, USER, op_request("PutObject.create")).allowed
    decision = authorize(ps, USER, op_request("RenameObject"))  # CREATE + OVERWRITE
    assert not decision.allowed and decision.missing == ("OBJECT_OVERWRITE",)


def test_permission_list_form() -> None:
    ps = pset("Allow group CI-CD-Deployers to {OBJECT_READ} in tenancy")
    assert authorize(ps, USER, op_request("GetObject")).allowed
    assert not authorize(ps, USER, op_request("ListObjects")).allowed


def test_deny_beats_allow() -> None:
    ps = pset("Allow group CI-CD-Deployers to manage objects in tenancy",
              "Deny group CI-CD-Deployers to manage objects in compartment Sandbox "
              "where target.bucket.name = 'secret-stuff'")
    assert authorize(ps, USER, op_request("GetObject", target__x="")).allowed
    decision = authorize(ps, USER, op_request("GetObject", **{"target.bucket.name":
                                                              "secret-stuff"}))
    assert not decision.allowed and decision.denied_by is not None
    assert decision.denied_by.effect == "deny"


def test_decision_names_the_allowing_statement() -> None:
    ps = pset("Allow group CI-CD-Deployers to inspect objects in tenancy",
              "Allow group CI-CD-Deployers to read objects in tenancy")
    decision = authorize(ps, USER, op_request("GetObject"))
    assert decision.allowed and decision.allowed_by[0].verb == "read"


def test_cross_tenancy_statements_are_not_evaluated() -> None:
    ps = pset("Define tenancy Other as ocid1.tenancy.oc1..o",
              "Allow group CI-CD-Deployers to read objects in tenancy")
    assert authorize(ps, USER, op_request("GetObject")).allowed


# seed 001: three policies as recorded
SEED001_DG = DynamicGroup.parse(
    "PostgresInserterFunctionDG", "ocid1.dynamicgroup.oc1..pg",
    f"ALL {{resource.type = 'fnfunc', resource.compartment.id = '{SANDBOX}'}}")
SEED001 = PolicySet([
    Policy.parse("CICD-Deployers-Policy", SANDBOX, [
        "Allow group CI-CD-Deployers to manage functions-family in compartment Sandbox"]),
    Policy.parse("PostgresInserterFunction-Runtime-Policy", TEN, [
        "Allow dynamic-group PostgresInserterFunctionDG to use virtual-network-family in "
        "compartment Sandbox",
        "Allow dynamic-group PostgresInserterFunctionDG to read secret-bundles in compartment "
        "Sandbox where target.secret.name = 'pg-password'",
        "Allow dynamic-group PostgresInserterFunctionDG to use keys in compartment Sandbox"]),
    Policy.parse("Tenancy-Wide-Service-Policies", TEN, [
        "Allow group CI-CD-Deployers to manage repos in tenancy",
        "Allow service faas to use virtual-network-family in compartment Sandbox"]),
], TREE, [SEED001_DG])


def test_seed001_policies() -> None:
    # attached in Sandbox, `in compartment Sandbox` names Sandbox itself
    assert authorize(SEED001, USER, op_request("CreateFunction")).allowed
    assert not authorize(SEED001, USER, op_request("CreateFunction", OTHER)).allowed
    assert authorize(SEED001, USER, op_request("PushImage", TEN)).allowed
    fn = ResourcePrincipal("fnfunc", "ocid1.fnfunc.oc1..pg", SANDBOX)
    assert authorize(SEED001, fn, op_request("GetSecretBundle",
                                             **{"target.secret.name": "pg-password"})).allowed
    assert not authorize(SEED001, fn, op_request("GetSecretBundle",
                                                 **{"target.secret.name": "other"})).allowed
    faas = ServicePrincipal("faas")
    assert authorize(SEED001, faas, op_request("GetSubnet")).allowed
    # no `read repos` for the service: the image pull is not granted by these policies
    assert not authorize(SEED001, faas, op_request("PullImage", TEN)).allowed


# the mailer's least-privilege statements (examples/usage-report-mailer/setup.yaml)
USERNAME_SECRET = "ocid1.vaultsecret.oc1..user"
PASSWORD_SECRET = "ocid1.vaultsecret.oc1..pass"
MAILER_STATEMENTS = (
    f"Allow dynamic-group usagereports-function-dg to read objects in compartment id {SANDBOX}"
    " where target.bucket.name = 'monthly-usage-reports'",
    f"Allow dynamic-group usagereports-function-dg to manage objects in compartment id {SANDBOX}"
    " where all {target.bucket.name = 'monthly-usage-reports-mailer-state',"
    " any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_READ',"
    " request.permission = 'OBJECT_OVERWRITE', request.permission = 'OBJECT_DELETE'}}",
    "Allow dynamic-group usagereports-function-dg to read secret-bundles in compartment id "
    f"{SANDBOX} where any {{target.secret.id = '{USERNAME_SECRET}',"
    f" target.secret.id = '{PASSWORD_SECRET}'}}",
)
MAILER_DG = DynamicGroup.parse("usagereports-function-dg", "ocid1.dynamicgroup.oc1..m",
                               f"ALL {{resource.type = 'fnfunc', resource.id = '{FN_ID}'}}")
REPORTS = {"target.bucket.name": "monthly-usage-reports"}
STATE = {"target.bucket.name": "monthly-usage-reports-mailer-state"}
MAILER_CALLS = [  # (operation, variables, the statement index that grants it)
    ("GetObject", REPORTS, 0),
    ("GetObject", STATE, 1),
    ("PutObject.create", STATE, 1),
    ("PutObject.overwrite", STATE, 1),
    ("DeleteObject", STATE, 1),
    ("GetSecretBundle", {"target.secret.id": USERNAME_SECRET}, 2),
    ("GetSecretBundle", {"target.secret.id": PASSWORD_SECRET}, 2),
]


def mailer(statements: tuple[str, ...]) -> PolicySet:
    return PolicySet([Policy.parse("usagereports-function-policy", TEN, statements)], TREE,
                     [MAILER_DG])


def test_mailer_calls_are_allowed() -> None:
    ps = mailer(MAILER_STATEMENTS)
    for op, variables, _ in MAILER_CALLS:
        assert authorize(ps, FN, op_request(op, **variables)).allowed, op


def test_mailer_is_no_broader_than_it_needs() -> None:
    ps = mailer(MAILER_STATEMENTS)
    denied = [("PutObject.create", REPORTS), ("DeleteObject", REPORTS),
              ("GetSecretBundle", {"target.secret.id": "ocid1.vaultsecret.oc1..other"}),
              ("GetObject", {"target.bucket.name": "someone-elses"})]
    for op, variables in denied:
        assert not authorize(ps, FN, op_request(op, **variables)).allowed, (op, variables)
    other_fn = ResourcePrincipal("fnfunc", "ocid1.fnfunc.oc1..other", SANDBOX)
    assert not authorize(ps, other_fn, op_request("GetObject", **REPORTS)).allowed
    assert not authorize(ps, FN, op_request("GetObject", OTHER, **REPORTS)).allowed


@pytest.mark.parametrize("removed", [0, 1, 2])
def test_mailer_without_one_statement_denies_its_operations(removed: int) -> None:
    ps = mailer(tuple(s for i, s in enumerate(MAILER_STATEMENTS) if i != removed))
    for op, variables, needs in MAILER_CALLS:
        allowed = authorize(ps, FN, op_request(op, **variables)).allowed
        assert allowed is (needs != removed), (op, variables)
