"""The typed steps every target's plan is made of, and the artifact a build produces.

A plan is a list of steps run in order: `Call` (one mutating API call), `Push` (make an
artifact pullable by the platform) and `WaitFor` (a condition with a timeout: a work
request done, backends healthy, an alarm state). A rolling update is such a list; a
target that waits inside its own calls (OCI Functions follows each work request) plans
no `WaitFor` at all. Only `Call`s change the cloud, so only they are counted as mutating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

# The digest of an image not pushed yet: the registry names it only after the push, so a
# plan shows this and the executor puts the pushed digest in its place.
PENDING_DIGEST = "<digest after push>"


@dataclass(frozen=True)
class Artifact:
    """What a build produces, named so the platform runs exactly it."""

    image: str  # what the platform pulls: repository:tag, or a zip's object name
    digest: str  # sha256:... (an image digest, or a zip's sha256), or PENDING_DIGEST
    kind: Literal["image", "zip"] = "image"
    # What the image is built from (source, base, wheels), when the builder knows it:
    # recorded in deploy state, so a later plan knows "unchanged" without pushing.
    content_key: str = field(default="", compare=False)
    # For a rollback: the resources recorded with this artifact when it was deployed (a
    # Lambda version, an instance configuration), so a target can put exactly them back.
    refs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def pending(self) -> bool:
        """True while the digest is known only after the push."""
        return self.digest == PENDING_DIGEST


@dataclass(frozen=True)
class Call:
    """One mutating API call; the target's apply waits until the platform has done it."""

    operation: str  # e.g. create_application, update_function
    resource: str  # the resource kind, the key of its id in state and in `ids`
    name: str
    resource_id: str | None  # None while the resource is still to be created
    params: dict[str, Any]  # target-neutral settings; config values are references only
    mutating: ClassVar[bool] = True

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "resource": self.resource, "name": self.name,
                "resource_id": self.resource_id, "params": self.params}


@dataclass(frozen=True)
class Push:
    """Make an artifact pullable (a registry push); changes nothing in the cloud."""

    artifact: Artifact
    source_dir: Path | None = None  # what the artifact was built from, when we push it
    app: str = ""  # module:attr the artifact serves
    operation: ClassVar[str] = "push_image"
    resource: ClassVar[str] = "image"
    resource_id: ClassVar[None] = None
    mutating: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.artifact.image

    @property
    def params(self) -> dict[str, Any]:
        return {"image": self.artifact.image, "digest": self.artifact.digest}

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "resource": self.resource, "name": self.name,
                "resource_id": None, "params": self.params}


@dataclass(frozen=True)
class WaitFor:
    """Wait until a condition holds, or fail the deploy after `timeout_s`."""

    condition: str  # e.g. work_request_done, backends_healthy, alarm_ok
    resource: str
    name: str
    resource_id: str | None = None
    timeout_s: float = 600.0
    params: dict[str, Any] = field(default_factory=dict)
    mutating: ClassVar[bool] = False

    @property
    def operation(self) -> str:
        return f"wait_{self.condition}"

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "resource": self.resource, "name": self.name,
                "resource_id": self.resource_id, "timeout_s": self.timeout_s,
                "params": self.params}


Step = Call | Push | WaitFor
