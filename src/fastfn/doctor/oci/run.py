"""Run every OCI check over gathered facts, in a fixed order."""

from __future__ import annotations

from collections.abc import Callable

from fastfn.doctor.findings import Finding, Report
from fastfn.doctor.oci import (
    access,
    api_key,
    config,
    image,
    network,
    platform,
    service_files,
    service_policy,
)
from fastfn.doctor.oci.facts import Clients, Facts, gather
from fastfn.doctor.service import ServiceFiles

Check = Callable[[Facts], list[Finding]]
CHECKS: tuple[Check, ...] = (access.check, image.check, service_policy.check,
                             network.check, platform.check, config.check, api_key.check,
                             service_files.check)


def run(facts: Facts, checks: tuple[Check, ...] = CHECKS) -> Report:
    findings: list[Finding] = []
    if facts.function is None:
        findings.extend(access.check(facts))
        findings.extend(service_files.check(facts))
    else:
        for check in checks:
            findings.extend(check(facts))
    target = {"function_id": facts.function_id, "region": facts.region}
    if facts.endpoint:
        target["endpoint"] = facts.endpoint
    return Report(target=target, findings=findings)


def diagnose(clients: Clients, function_id: str, service: ServiceFiles | None = None) -> Report:
    return run(gather(clients, function_id, service))
