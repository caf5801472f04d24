"""Deploy targets. Each observes a stage with read-only calls and applies planned calls;
the pipeline (models -> build -> plan -> execute -> state) is the same for all."""

from __future__ import annotations

from typing import Protocol

from fastfn.deploy.build import ImageBuilder
from fastfn.deploy.models import DesiredService, TargetSettings
from fastfn.deploy.planner import APICall, Observed


class Target(Protocol):
    kind: str
    settings: TargetSettings
    builder: ImageBuilder

    def observe(self, service: DesiredService) -> Observed:
        """What exists for this stage, through read-only calls only."""
        ...

    def apply(self, call: APICall, ids: dict[str, str]) -> str | None:
        ...

    def describe(self) -> dict[str, str]:
        """Where this target is (recorded with the stage's state; no credentials)."""
        ...
