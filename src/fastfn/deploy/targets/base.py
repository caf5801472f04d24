"""What a deploy target is: the one interface OCI Functions, AWS Lambda and an OCI
instance pool each implement, without pretending to be one another.

The pipeline (deployer, executor, diff and hidden values, lock, state, plan printing) is
shared; a target contributes only what is its own:

    desired = target.desired(manifest, service_dir, stage)   # limits checked here
    artifact = target.build(desired)                          # no remote calls
    observed = target.observe(desired)                        # read-only calls
    plan = target.plan(desired, artifact, observed, mode)     # pure: steps + refusals
    for step in plan.calls: target.apply(step, ids)           # one step, waited for

Targets are found by kind in `REGISTRY` and imported only when used.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

from fastfn.deploy.models import DesiredService
from fastfn.deploy.planner import Mode, Observed, Plan
from fastfn.deploy.steps import Artifact, Call, Push, Step, WaitFor
from fastfn.manifest import Manifest


class Target(Protocol):
    kind: str

    def desired(self, manifest: Manifest, service_dir: Path,
                stage: str | None) -> DesiredService:
        """What should exist for this stage; raises LimitError before any call."""
        ...

    def build(self, desired: DesiredService) -> Artifact:
        """The artifact the stage runs (image@digest or a zip's sha); no remote calls."""
        ...

    def observe(self, desired: DesiredService) -> Observed:
        """What exists for this stage, through read-only calls only."""
        ...

    def plan(self, desired: DesiredService, artifact: Artifact | None, observed: Observed,
             mode: Mode = "full", force: bool = False) -> Plan:
        """Pure: the steps from `observed` to `desired`, the settings diff, refusals."""
        ...

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        """Run one step and wait until the platform has finished it; returns the id of
        the resource it created or changed. `ids` maps resource kind to id."""
        ...

    def describe(self) -> dict[str, str]:
        """Where this target is (recorded with the stage's state; never credentials)."""
        ...


# kind -> "module:attribute" of the target class; imported on first use so that naming
# a target never imports another target's SDK.
REGISTRY: dict[str, str] = {
    "oci-functions": "fastfn.deploy.targets.oci:OciFunctionsTarget",
}


def target_class(kind: str) -> Any:
    try:
        module, attribute = REGISTRY[kind].split(":")
    except KeyError:
        raise ValueError(f"unknown target kind {kind!r}: one of {sorted(REGISTRY)}") from None
    return getattr(importlib.import_module(module), attribute)


__all__ = ["REGISTRY", "Artifact", "Call", "Push", "Step", "Target", "WaitFor",
           "target_class"]
