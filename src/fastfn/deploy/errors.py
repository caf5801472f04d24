"""Every error the deploy pipeline raises on purpose, in one module.

The CLI catches these without importing from a target or a pipeline step; each message
says what went wrong and what to do, and none carries a secret value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class RefusedPlan(Protocol):
    """What a refusal needs of a plan (errors depend on no pipeline step)."""

    @property
    def refusals(self) -> Sequence[str]: ...


class TargetError(RuntimeError):
    """The target cannot be reached or a call failed; the message says which."""


class BuildError(RuntimeError):
    """The image cannot be produced or named; the message says what to do."""


class LimitError(ValueError):
    """A desired setting is outside what the platform accepts; found before any call."""


class DeployLocked(RuntimeError):
    """Another deploy of this stage is running."""


class RollbackError(RuntimeError):
    """There is no earlier recorded image to roll back to."""


class PlanRefused(RuntimeError):
    """The plan has refusals (data on `plan.refusals`); nothing was changed."""

    def __init__(self, plan: RefusedPlan) -> None:
        super().__init__("; ".join(plan.refusals))
        self.plan = plan


# What the CLI turns into a clear one-line failure instead of a traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    BuildError, DeployLocked, LimitError, RollbackError, TargetError)
