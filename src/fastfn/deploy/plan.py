"""The shared shape of a plan: typed steps, a settings diff and refusals.

Every target's planner returns a `Plan`; this module holds what they share: the modes,
the diff of settings key by key (config values fastfn did not write are never shown) and
the options a command passes down. Nothing here talks to a cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fastfn.deploy.models import Observed
from fastfn.deploy.steps import Artifact, Step

# full: every setting and the artifact; image-only: the artifact alone; rollback: an
# artifact deployed before, put back; destroy: delete the stage's resources; promote: a
# canary's new version takes all traffic (targets that have canaries).
Mode = Literal["full", "image-only", "rollback", "destroy", "promote"]


@dataclass(frozen=True)
class PlanOptions:
    force: bool = False  # image-only even though settings drifted
    canary_percent: int | None = None  # share of traffic for the new version (1..99)


@dataclass(frozen=True)
class LiveResource:
    """One resource as observed, its settings under the desired settings' keys."""

    id: str
    name: str
    settings: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingChange:
    resource: str  # the resource kind, e.g. application, function, alias
    key: str  # e.g. "memory", "config.DB_HOST"
    live: Any
    desired: Any

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "key": self.key, "live": self.live,
                "desired": self.desired}


@dataclass
class Plan:
    service: str
    stage: str
    mode: Mode
    calls: list[Step]
    changes: list[SettingChange]  # settings only; the artifact is a step of its own
    refusals: list[str]
    artifact: Artifact | None
    observed: Observed

    @property
    def api_calls(self) -> list[Step]:
        return [call for call in self.calls if call.mutating]

    @property
    def ok(self) -> bool:
        return not self.refusals

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service, "stage": self.stage, "mode": self.mode,
            "calls": [call.to_json() for call in self.calls],
            "mutating_calls": len(self.api_calls),
            "changes": [change.to_json() for change in self.changes],
            "refusals": self.refusals,
            "artifact": None if self.artifact is None else
            {"image": self.artifact.image, "digest": self.artifact.digest,
             "kind": self.artifact.kind},
        }


HIDDEN = "<hidden: not written by fastfn>"


def hidden(value: Any) -> str:
    """A value set outside fastfn may be a secret: never shown, not even as a hash (a
    short hash of a weak password can be reversed by guessing)."""
    return HIDDEN


def _config_changes(resource: str, live: dict[str, str], desired: dict[str, str],
                    shown: frozenset[str]) -> list[SettingChange]:
    changes = []
    for key in sorted(set(live) | set(desired)):
        if live.get(key) == desired.get(key):
            continue

        def show(value: str | None, key: str = key) -> Any:
            # Values fastfn did not write are never printed: a console edit may have put a
            # password there (seed 001 kept credentials in function config).
            if value is None or key in shown:
                return value
            return hidden(value)

        changes.append(SettingChange(resource, f"config.{key}", show(live.get(key)),
                                     show(desired.get(key))))
    return changes


def settings_diff(resource: str, live: dict[str, Any], desired: dict[str, Any],
                  shown_config: frozenset[str]) -> list[SettingChange]:
    """Differences between live and desired settings, config key by key."""
    changes: list[SettingChange] = []
    for key, want in desired.items():
        have = live.get(key)
        if key == "config":
            changes += _config_changes(resource, have or {}, want or {}, shown_config)
        elif have != want:
            changes.append(SettingChange(resource, key, have, want))
    return changes


def changed_settings(desired: dict[str, Any], changes: list[SettingChange]) -> dict[str, Any]:
    """The desired settings whose keys appear in `changes` (config as a whole)."""
    keys = {change.key.split(".", 1)[0] for change in changes}
    return {key: desired[key] for key in desired if key in keys}
