"""What every target's models share: stage naming, ownership tags, and the two small
protocols the pipeline needs of a target's desired and observed state.

Each target defines its own desired and observed types (an OCI application + function, a
Lambda function + alias, an instance pool + load balancer); the deployer, executor and
recorded state only use what is declared here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

DEFAULT_STAGE = "default"
# Tags on every resource fastfn creates: which service and stage owns it. A plan refuses to
# touch a resource that carries another stage's tag.
TAG_SERVICE = "fastfn-service"
TAG_STAGE = "fastfn-stage"


def stage_key(stage: str | None) -> str:
    return stage or DEFAULT_STAGE


class Desired(Protocol):
    """What should exist for one service in one stage, on one target."""

    @property
    def service(self) -> str: ...

    @property
    def stage(self) -> str: ...

    @property
    def source_dir(self) -> Path: ...

    @property
    def app(self) -> str: ...

    def fingerprint(self) -> dict[str, Any]:
        """The settings a full deploy records (as a hash) in the stage's state."""
        ...


class Observed(Protocol):
    """What exists for one stage, read with read-only calls."""

    @property
    def deployed(self) -> bool: ...

    def ids(self) -> dict[str, str]:
        """Resource kind -> id of what exists."""
        ...


def foreign_refusal(kind: str, name: str, resource_id: str, tags: dict[str, str],
                    stage: str) -> list[str]:
    """A refusal when a live resource carries another stage's ownership tag."""
    owner = tags.get(TAG_STAGE)
    if owner is not None and owner != stage:
        return [f"{kind} {name!r} ({resource_id}) belongs to stage {owner!r}, not {stage!r}: "
                "a stage never touches another stage's resources"]
    return []
