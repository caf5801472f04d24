"""The plan stage: which API calls bring one stage from what exists to what is desired.

Input is the desired service, the built image and what the target observed with
read-only calls; output is a list of typed steps (`fastfn.deploy.steps`) plus a diff
of settings, and refusals (things fastfn will not do, each with the reason). Nothing here
talks to a cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fastfn.deploy.build import BuiltImage
from fastfn.deploy.models import IMMUTABLE_APPLICATION_SETTINGS, TAG_STAGE, DesiredService
from fastfn.deploy.steps import Call, Push, Step

# full: every setting and the artifact; image-only: the artifact alone; rollback: an
# artifact already pushed, put back; destroy: delete the stage's resources.
Mode = Literal["full", "image-only", "rollback", "destroy"]


@dataclass(frozen=True)
class LiveResource:
    id: str
    name: str
    settings: dict[str, Any]  # same keys as the desired settings (target-neutral)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    """What exists for a stage, as read with read-only calls."""

    application: LiveResource | None
    function: LiveResource | None  # settings also carry "image" and "image_digest"

    def ids(self) -> dict[str, str]:
        """Resource kind -> id of what exists."""
        found = {"application": self.application, "function": self.function}
        return {kind: live.id for kind, live in found.items() if live is not None}


# The planner's old name for a mutating call.
APICall = Call


@dataclass(frozen=True)
class SettingChange:
    resource: Literal["application", "function"]
    key: str  # e.g. "memory", "config.DB_HOST", "image"
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
    changes: list[SettingChange]  # settings only; the image is a call of its own
    refusals: list[str]
    built: BuiltImage | None
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
            "image": None if self.built is None else
            {"image": self.built.image, "digest": self.built.digest},
        }


HIDDEN = "<hidden: not written by fastfn>"


def hidden(value: Any) -> str:
    """A value set outside fastfn may be a secret: never shown, not even as a hash (a
    short hash of a weak password can be reversed by guessing)."""
    return HIDDEN


def _config_changes(resource: Literal["application", "function"], live: dict[str, str],
                    desired: dict[str, str], shown: frozenset[str]) -> list[SettingChange]:
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


def settings_diff(resource: Literal["application", "function"], live: dict[str, Any],
                  desired: dict[str, Any], shown_config: frozenset[str]) -> list[SettingChange]:
    """Differences between live and desired settings, config key by key."""
    changes: list[SettingChange] = []
    for key, want in desired.items():
        have = live.get(key)
        if key == "config":
            changes += _config_changes(resource, have or {}, want or {}, shown_config)
        elif have != want:
            changes.append(SettingChange(resource, key, have, want))
    return changes


def _changed_settings(desired: dict[str, Any], changes: list[SettingChange]) -> dict[str, Any]:
    keys = {change.key.split(".", 1)[0] for change in changes}
    return {key: desired[key] for key in desired if key in keys}


def _foreign(resource: LiveResource | None, kind: str, stage: str) -> list[str]:
    owner = resource.tags.get(TAG_STAGE) if resource else None
    if resource is not None and owner is not None and owner != stage:
        return [f"{kind} {resource.name!r} ({resource.id}) belongs to stage {owner!r}, not "
                f"{stage!r}: a stage never touches another stage's resources"]
    return []


def drift(service: DesiredService, observed: Observed) -> list[SettingChange]:
    """Live settings that differ from the manifest (the image excluded)."""
    shown = frozenset(service.function.settings["config"])  # what fastfn writes
    changes: list[SettingChange] = []
    if observed.application is not None:
        changes += settings_diff("application", observed.application.settings,
                                 service.application.settings, shown)
    if observed.function is not None:
        changes += settings_diff("function", observed.function.settings,
                                 service.function.settings, shown)
    return changes


def plan(service: DesiredService, built: BuiltImage, observed: Observed,
         mode: Mode = "full", force: bool = False) -> Plan:
    app, fn = observed.application, observed.function
    changes = drift(service, observed)
    refusals = _foreign(app, "application", service.stage) + _foreign(fn, "function",
                                                                      service.stage)
    calls: list[Step] = []
    image = {"image": built.image, "image_digest": built.digest}
    image_changed = fn is None or any(fn.settings.get(k) != v for k, v in image.items())
    push = Push(built, service.source_dir, service.app)

    def result() -> Plan:
        return Plan(service.service, service.stage, mode, calls if not refusals else [],
                    changes, refusals, built, observed)

    if mode == "image-only":
        if app is None or fn is None:
            refusals.append(f"stage {service.stage!r} is not provisioned yet: run "
                            "`fastfn deploy` without --image-only first")
        elif changes and not force:
            refusals.append("settings have drifted from the manifest (see the diff); an "
                            "image-only update would leave them so. Run a full `fastfn "
                            "deploy`, or pass --force to update only the image anyway")
        elif image_changed:
            calls += [push, Call("update_function", "function", fn.name, fn.id, image)]
        return result()

    for key in IMMUTABLE_APPLICATION_SETTINGS:
        if app is not None and app.settings.get(key) != service.application.settings[key]:
            refusals.append(
                f"application {app.name!r}: {key} is {app.settings.get(key)!r}, the "
                f"manifest says {service.application.settings[key]!r}. OCI fixes {key} when "
                "an application is created (UpdateApplicationDetails has no such field). "
                "Deploy to a new stage, or `fastfn destroy` this stage and deploy again")
    app_changes = [c for c in changes if c.resource == "application"]
    fn_changes = [c for c in changes if c.resource == "function"]
    if app is None:
        calls.append(Call("create_application", "application", service.application.name,
                             None, {"compartment_id": service.application.compartment_id,
                                    **service.application.settings,
                                    "tags": service.application.tags}))
    elif app_changes:
        calls.append(Call("update_application", "application", app.name, app.id,
                             _changed_settings(service.application.settings, app_changes)))
    if image_changed:
        calls.append(push)
    if fn is None:
        calls.append(Call("create_function", "function", service.function.name, None,
                             {**service.function.settings, **image,
                              "tags": service.function.tags}))
    elif fn_changes or image_changed:
        params = _changed_settings(service.function.settings, fn_changes)
        if image_changed:
            params.update(image)
        calls.append(Call("update_function", "function", fn.name, fn.id, params))
    return result()


def destroy_plan(service: DesiredService, observed: Observed) -> Plan:
    """Delete the stage's function, then its application (if nothing else lives in it)."""
    refusals = _foreign(observed.application, "application", service.stage)
    calls: list[Step] = []
    if observed.function is not None:
        calls.append(Call("delete_function", "function", observed.function.name,
                             observed.function.id, {}))
    if observed.application is not None:
        calls.append(Call("delete_application", "application",
                             observed.application.name, observed.application.id, {}))
    return Plan(service.service, service.stage, "destroy", calls if not refusals else [],
                [], refusals, None, observed)


def rollback_plan(service: DesiredService, previous: BuiltImage, observed: Observed) -> Plan:
    """Back to an image pushed before: one update of the function, no push."""
    fn = observed.function
    calls: list[Step] = []
    refusals = []
    if fn is None:
        refusals.append(f"stage {service.stage!r} has no function deployed")
    else:
        calls.append(Call("update_function", "function", fn.name, fn.id,
                          {"image": previous.image, "image_digest": previous.digest}))
    return Plan(service.service, service.stage, "rollback", calls, [], refusals, previous,
                observed)
