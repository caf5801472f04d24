"""What a deploy target is: the one interface OCI Functions, AWS Lambda and an OCI
instance pool each implement, without pretending to be one another.

The pipeline (deployer, executor, diff and hidden values, lock, state, plan printing) is
shared; a target contributes only what is its own:

    desired = target.desired(manifest, service_dir, stage)   # limits checked here
    artifact = target.build(desired)                          # no remote calls
    observed = target.observe(desired)                        # read-only calls
    plan = target.plan(desired, artifact, observed, mode)     # pure: steps + refusals
    for step in plan.calls: target.apply(step, ids)           # one step, waited for

Each target has its own desired and observed types (`deploy.models.Desired` and
`Observed` say what the pipeline needs of them). Targets are found by kind in `REGISTRY`
and imported only when used; each target package has `from_options(TargetOptions)`,
which is how the CLI makes one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastfn.deploy.models import Desired, Observed
from fastfn.deploy.plan import Mode, Plan, PlanOptions, SettingChange
from fastfn.deploy.steps import Artifact, Call, Push, Step, WaitFor
from fastfn.manifest import Manifest


class Target(Protocol):
    kind: str

    def desired(self, manifest: Manifest, service_dir: Path, stage: str | None) -> Any:
        """What should exist for this stage (a `Desired`); raises LimitError before any
        call."""
        ...

    def build(self, desired: Any) -> Artifact:
        """The artifact the stage runs (image@digest or a zip's sha); no remote calls."""
        ...

    def observe(self, desired: Any) -> Any:
        """What exists for this stage (an `Observed`), through read-only calls only."""
        ...

    def plan(self, desired: Any, artifact: Artifact | None, observed: Any,
             mode: Mode = "full", options: PlanOptions | None = None) -> Plan:
        """Pure: the steps from `observed` to `desired`, the settings diff, refusals."""
        ...

    def drift(self, desired: Any, observed: Any) -> list[SettingChange]:
        """Live settings that differ from the manifest (the artifact excluded)."""
        ...

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        """Run one step and wait until the platform has finished it; returns the id of
        the resource it created or changed (for a `Push`: the digest the registry
        stores, or None when the planned one stands). `ids` maps resource kind to id."""
        ...

    def describe(self) -> dict[str, str]:
        """Where this target is (recorded with the stage's state; never credentials)."""
        ...


@dataclass(frozen=True)
class TargetOptions:
    """What the commands know about where a stage goes. Each target reads what it needs;
    by default every target is the embedded local cloud on `cloud_state`."""

    cloud_state: Path = Path(".fastfn") / "cloud"
    profile: str | None = None  # a real cloud's profile (oci config, AWS credentials)
    config_file: str | None = None
    region: str | None = None
    compartment: str | None = None
    subnets: tuple[str, ...] = ()
    nsgs: tuple[str, ...] = ()
    image: str | None = None  # an artifact built and pushed elsewhere (CI)
    settings: dict[str, str] = field(default_factory=dict)  # --set key=value


# manifest `target:` kind -> the package that implements it, imported on first use so that
# naming a target never imports another target's SDK. Each has `from_options`.
REGISTRY: dict[str, str] = {
    "oci": "fastfn.deploy.targets.oci",
    "aws": "fastfn.deploy.targets.aws",
    "pool": "fastfn.deploy.targets.pool",
}


def target_module(kind: str) -> Any:
    try:
        module = REGISTRY[kind]
    except KeyError:
        raise ValueError(f"unknown target kind {kind!r}: one of {sorted(REGISTRY)}") from None
    return importlib.import_module(module)


def make_target(kind: str, options: TargetOptions) -> Target:
    """The target of kind `kind` that `options` describe (raises TargetError)."""
    target: Target = target_module(kind).from_options(options)
    return target


__all__ = ["REGISTRY", "Artifact", "Call", "Desired", "Observed", "Push", "Step", "Target",
           "TargetOptions", "WaitFor", "make_target", "target_module"]
