"""OCI Functions' planner: which calls bring one stage from what exists to what is desired.

Input is the desired service, the built image and what `observe.py` read; output is a
shared `Plan` (`fastfn.deploy.plan`): typed steps, a settings diff and refusals. Nothing
here talks to a cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastfn.deploy.models import foreign_refusal
from fastfn.deploy.plan import (
    LiveResource,
    Mode,
    Plan,
    SettingChange,
    changed_settings,
    settings_diff,
)
from fastfn.deploy.steps import Artifact, Call, Push, Step
from fastfn.deploy.targets.oci.models import IMMUTABLE_APPLICATION_SETTINGS, DesiredService


@dataclass(frozen=True)
class Observed:
    """What exists for a stage on OCI Functions, as read with read-only calls."""

    application: LiveResource | None
    function: LiveResource | None  # settings also carry "image" and "image_digest"

    @property
    def deployed(self) -> bool:
        return self.application is not None or self.function is not None

    def ids(self) -> dict[str, str]:
        found = {"application": self.application, "function": self.function}
        return {kind: live.id for kind, live in found.items() if live is not None}


def _foreign(resource: LiveResource | None, kind: str, stage: str) -> list[str]:
    if resource is None:
        return []
    return foreign_refusal(kind, resource.name, resource.id, resource.tags, stage)


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


def plan(service: DesiredService, built: Artifact, observed: Observed,
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
                             changed_settings(service.application.settings, app_changes)))
    if image_changed:
        calls.append(push)
    if fn is None:
        calls.append(Call("create_function", "function", service.function.name, None,
                             {**service.function.settings, **image,
                              "tags": service.function.tags}))
    elif fn_changes or image_changed:
        params = changed_settings(service.function.settings, fn_changes)
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


def rollback_plan(service: DesiredService, previous: Artifact, observed: Observed) -> Plan:
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
