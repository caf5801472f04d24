"""The execute stage: runs a plan's steps in order, each through the target.

The executor knows no platform: every step (a call, a push, a wait) goes to
`target.apply`. Ids of resources created earlier in the plan are handed to later steps
(a function needs its application's id). A push that returns the digest the registry
stores (an image whose digest was `PENDING_DIGEST` at plan time) puts it in the later
steps' params in place of the planned one, and in `Execution.pushed`. Each mutating step
is counted: "a redeploy with nothing changed makes no mutating call" is a property the
tests and `--json` output check.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastfn.deploy.errors import PlanRefused
from fastfn.deploy.plan import Plan
from fastfn.deploy.steps import Artifact, Call, Push, Step

if TYPE_CHECKING:
    from fastfn.deploy.targets.base import Target

log = logging.getLogger("fastfn.deploy.executor")


@dataclass
class Execution:
    ids: dict[str, str] = field(default_factory=dict)
    done: list[Step] = field(default_factory=list)
    pushed: Artifact | None = None  # the artifact as pushed, with the registry's digest

    @property
    def mutating_calls(self) -> int:
        return sum(1 for step in self.done if step.mutating)


def execute(plan: Plan, target: Target,
            on_call: Callable[[Step], None] | None = None) -> Execution:
    """Run `plan` against `target`; the steps carry what they need (a push its source)."""
    if not plan.ok:
        raise PlanRefused(plan)
    run = Execution(ids=plan.observed.ids())
    planned: dict[str, str] = {}  # digest in the plan -> digest the push gave
    for step in plan.calls:
        if planned and isinstance(step, Call):
            step = dataclasses.replace(step, params={
                key: planned.get(value, value) if isinstance(value, str) else value
                for key, value in step.params.items()})
        if on_call is not None:
            on_call(step)
        resource_id = target.apply(step, run.ids)
        if isinstance(step, Push):
            if resource_id is not None:  # the registry's digest
                planned[step.artifact.digest] = resource_id
                run.pushed = dataclasses.replace(step.artifact, digest=resource_id)
        elif step.operation.startswith("delete_"):
            run.ids.pop(step.resource, None)
        elif resource_id is not None:
            run.ids[step.resource] = resource_id
        log.info("step done", extra={"operation": step.operation, "resource": step.name})
        run.done.append(step)
    return run
