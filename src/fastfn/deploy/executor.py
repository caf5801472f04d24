"""The execute stage: runs a plan's steps in order, each through the target.

The executor knows no platform: every step (a call, a push, a wait) goes to
`target.apply`. Ids of resources created earlier in the plan are handed to later steps
(a function needs its application's id). Each mutating step is counted: "a redeploy with
nothing changed makes no mutating call" is a property the tests and `--json` output check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastfn.deploy.errors import PlanRefused
from fastfn.deploy.plan import Plan
from fastfn.deploy.steps import Step

if TYPE_CHECKING:
    from fastfn.deploy.targets.base import Target

log = logging.getLogger("fastfn.deploy.executor")


@dataclass
class Execution:
    ids: dict[str, str] = field(default_factory=dict)
    done: list[Step] = field(default_factory=list)

    @property
    def mutating_calls(self) -> int:
        return sum(1 for step in self.done if step.mutating)


def execute(plan: Plan, target: Target,
            on_call: Callable[[Step], None] | None = None) -> Execution:
    """Run `plan` against `target`; the steps carry what they need (a push its source)."""
    if not plan.ok:
        raise PlanRefused(plan)
    run = Execution(ids=plan.observed.ids())
    for step in plan.calls:
        if on_call is not None:
            on_call(step)
        resource_id = target.apply(step, run.ids)
        if step.operation.startswith("delete_"):
            run.ids.pop(step.resource, None)
        elif resource_id is not None:
            run.ids[step.resource] = resource_id
        log.info("step done", extra={"operation": step.operation, "resource": step.name})
        run.done.append(step)
    return run
