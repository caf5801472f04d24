"""The execute stage: runs a plan's calls in order against a target.

Ids of resources created earlier in the plan are handed to later calls (a function
needs its application's id). Each mutating call is counted: "a redeploy with nothing
changed makes no mutating call" is a property the tests and `--json` output check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fastfn.deploy.build import ImageBuilder
from fastfn.deploy.errors import PlanRefused
from fastfn.deploy.models import DesiredService
from fastfn.deploy.planner import APICall, Plan

log = logging.getLogger("fastfn.deploy.executor")


class Applier(Protocol):
    def apply(self, call: APICall, ids: dict[str, str]) -> str | None:
        """Make one mutating call and wait until the platform has finished it; returns
        the id of the resource it created or changed. `ids` maps resource kind to id."""
        ...


@dataclass
class Execution:
    ids: dict[str, str] = field(default_factory=dict)
    done: list[APICall] = field(default_factory=list)

    @property
    def mutating_calls(self) -> int:
        return sum(1 for call in self.done if call.mutating)


def execute(plan: Plan, service: DesiredService | None, target: Applier,
            builder: ImageBuilder | None,
            on_call: Callable[[APICall], None] | None = None) -> Execution:
    if not plan.ok:
        raise PlanRefused(plan)
    run = Execution()
    if plan.observed.application is not None:
        run.ids["application"] = plan.observed.application.id
    if plan.observed.function is not None:
        run.ids["function"] = plan.observed.function.id
    for call in plan.calls:
        if on_call is not None:
            on_call(call)
        if call.operation == "push_image":
            assert builder is not None and service is not None and plan.built is not None
            builder.push(service, plan.built)
        else:
            resource_id = target.apply(call, run.ids)
            if call.operation.startswith("delete_"):
                run.ids.pop(call.resource, None)
            elif resource_id is not None:
                run.ids[call.resource] = resource_id
        log.info("call done", extra={"operation": call.operation, "resource": call.name})
        run.done.append(call)
    return run
