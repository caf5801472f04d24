"""The Functions service's own rights: reading the image's repository (to pull) and
using the application's network."""

from __future__ import annotations

from fastfn.doctor.findings import Finding, fail, ok, skip, warn
from fastfn.doctor.oci.facts import Facts
from fastfn.doctor.oci.policies import allowed_by, policy_set
from fastfn.iam.evaluate import Request, ServicePrincipal
from fastfn.iam.grammar import PolicyError, parse_statement

PULL, NETWORK, PARSE = "policy.faas-pull", "policy.faas-network", "policy.parse"
NAME = "policy.service-name"
# Names people write for the Functions service that are not its principal's name.
NOT_FAAS = {"fns", "fn", "functions", "oraclefunctions", "oci-functions", "fnservice"}
FAAS = ServicePrincipal("faas")
DOCS = ("earlier Oracle docs ('Summary of Policies' for Functions) require it; the "
        "current policy page no longer lists it")


def check(facts: Facts) -> list[Finding]:
    if "policies" in facts.errors:
        return [skip(PULL, f"cannot read policies: {facts.errors['policies']}",
                     "Allow group <you> to inspect policies in tenancy")]
    if not facts.policies:
        return [skip(PULL, "the tenancy has no policies at all (a local cloud started "
                           "without --tenancy enforces none)")]
    evaluated = policy_set(facts)
    out = [warn(PARSE, f"not understood, ignored: {bad}") for bad in evaluated.unreadable]
    out.extend(_service_names(facts))
    repo = facts.repository
    if repo is None:
        out.append(skip(PULL, "the image's repository is not readable (see image.present)"))
    else:
        request = Request("PullImage", ("REPOSITORY_READ",), repo.compartment_id,
                          {"target.repo.name": repo.display_name})
        by = allowed_by(evaluated, FAAS, request)
        where = facts.location(repo.compartment_id)
        if by is None:
            out.append(fail(PULL, f"no policy lets the Functions service read repository "
                                  f"{repo.display_name} in {where} (REPOSITORY_READ): the "
                                  f"pull fails as FunctionInvokeImageNotAvailable ({DOCS})",
                            f"Allow service faas to read repos in {where} (a statement in "
                            "a root-compartment policy)"))
        else:
            out.append(ok(PULL, f"the Functions service may pull: {by}"))
    subnets = facts.subnets
    if not subnets:
        out.append(skip(NETWORK, "the application's subnets could not be read"))
        return out
    for subnet in subnets:
        request = Request("CreateVnic", ("SUBNET_ATTACH", "VNIC_ATTACH"),
                          subnet.compartment_id)
        by = allowed_by(evaluated, FAAS, request)
        where = facts.location(subnet.compartment_id)
        if by is None:
            out.append(warn(NETWORK, f"no policy lets the Functions service use subnet "
                                     f"{subnet.display_name} in {where} (earlier Oracle docs "
                                     "list 'Allow service FaaS to use virtual-network-family "
                                     "in compartment <c>'; the current ones do not)",
                            f"Allow service faas to use virtual-network-family in {where}"))
        else:
            out.append(ok(NETWORK, f"the Functions service may use subnet "
                                   f"{subnet.display_name}: {by}"))
    return out


def _service_names(facts: Facts) -> list[Finding]:
    """Seed 000's `Allow service FNS to read repos ...`: no such service; it is faas."""
    import re

    out = []
    for policy in facts.policies:
        for text in policy.statements or []:
            try:
                st = parse_statement(text)
            except PolicyError:
                continue
            subject = getattr(st, "subject", None)
            if subject is None or subject.kind != "service":
                continue
            wrong = [n for n in subject.names if n.lower() in NOT_FAAS]
            if wrong:
                fixed = re.sub(rf"\b{re.escape(wrong[0])}\b", "faas", text, count=1,
                               flags=re.IGNORECASE)
                out.append(warn(NAME, f"policy {policy.name}: '{text}' names service "
                                      f"{wrong[0]}, which does not exist (the Functions "
                                      "service is faas): the statement grants nothing",
                                fixed))
    return out
