"""The pipeline, end to end: models -> build -> plan -> execute -> recorded state.

Each step is a module of its own; this one only strings them together for the commands
(`plan`, `deploy`, `drift`, `rollback`, `promote`, `destroy`), for any target. The plan
is always computed from what the target observes, not from the recorded state, so an
interrupted deploy is finished by running it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastfn.deploy import state as recorded
from fastfn.deploy.errors import PlanRefused, RollbackError
from fastfn.deploy.executor import Execution, execute
from fastfn.deploy.lease import cloud_lease
from fastfn.deploy.lock import stage_lock
from fastfn.deploy.models import stage_key
from fastfn.deploy.plan import Mode, Plan, PlanOptions, SettingChange
from fastfn.deploy.steps import Artifact, Step
from fastfn.deploy.targets import Target
from fastfn.manifest import Manifest

OnStep = Callable[[Step], None]


@dataclass
class Outcome:
    plan: Plan
    execution: Execution
    state_path: Path | None


@contextlib.contextmanager
def locked(service_dir: Path, service: Any, target: Target, operation: str) -> Iterator[None]:
    """This machine's file lock, then the stage's lease in the target's cloud (shared by
    every machine that deploys the stage), when the target keeps one (`lease_store`)."""
    with stage_lock(service_dir, service.stage, operation):
        store = getattr(target, "lease_store", None)
        if store is None:
            yield
            return
        with cloud_lease(store(), service.service, service.stage, operation):
            yield


def make_plan(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
              mode: Mode = "full", options: PlanOptions | None = None) -> Plan:
    service = target.desired(manifest, service_dir, stage)  # limits checked here
    built = target.build(service)
    return target.plan(service, built, target.observe(service), mode, options)


def deploy(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
           mode: Mode = "full", options: PlanOptions | None = None,
           on_call: OnStep | None = None) -> Outcome:
    service = target.desired(manifest, service_dir, stage)
    with locked(service_dir, service, target, "deploy"):
        built = target.build(service)
        the_plan = target.plan(service, built, target.observe(service), mode, options)
        run = execute(the_plan, target, on_call)
        path = _record(service_dir, service, target, run, run.pushed or built,
                       settings=service.fingerprint() if mode == "full" else None)
    return Outcome(the_plan, run, path)


def _record(service_dir: Path, service: Any, target: Target, run: Execution,
            built: Artifact, settings: dict[str, Any] | None,
            resources: dict[str, str] | None = None) -> Path:
    current = recorded.load(service_dir, service.stage) or recorded.StageState(
        service=service.service, stage=service.stage, target=target.describe())
    current.target = target.describe()
    current.resources = dict(run.ids)
    if settings is not None:  # an image-only update leaves the settings as they were
        current.settings_fingerprint = recorded.fingerprint(settings)
    current.record_image(built.image, built.digest, built.kind,
                         resources if resources is not None else run.ids,
                         content_key=built.content_key or None)
    return recorded.save(service_dir, current)


def drift_of(manifest: Manifest, service_dir: Path, stage: str | None,
             target: Target) -> tuple[Any, list[SettingChange], bool]:
    """Live settings that differ from the manifest; False when nothing is deployed."""
    service = target.desired(manifest, service_dir, stage)
    observed = target.observe(service)
    return service, target.drift(service, observed), observed.deployed


def rollback(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
             on_call: OnStep | None = None) -> Outcome:
    """Back to the previously deployed artifact, with the resources recorded with it (a
    Lambda version, an instance configuration): what that takes is the target's plan."""
    service = target.desired(manifest, service_dir, stage)
    with locked(service_dir, service, target, "rollback"):
        current = recorded.load(service_dir, service.stage)
        previous = current.previous_image() if current else None
        if current is None or previous is None:
            raise RollbackError(f"stage {service.stage!r} has no earlier deployed artifact "
                                f"recorded in {recorded.path_for(service_dir, service.stage)}")
        artifact = Artifact(previous.image, previous.digest,
                            "zip" if previous.kind == "zip" else "image",
                            refs=dict(previous.resources))
        the_plan = target.plan(service, artifact, target.observe(service), "rollback")
        if not the_plan.ok:
            raise RollbackError("; ".join(the_plan.refusals))
        run = execute(the_plan, target, on_call)
        path = _record(service_dir, service, target, run, artifact, settings=None,
                       resources={**run.ids, **artifact.refs})
    return Outcome(the_plan, run, path)


def promote(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
            on_call: OnStep | None = None) -> Outcome:
    """A canary's new version takes all the traffic (targets with canaries)."""
    service = target.desired(manifest, service_dir, stage)
    with locked(service_dir, service, target, "promote"):
        the_plan = target.plan(service, None, target.observe(service), "promote")
        run = execute(the_plan, target, on_call)
        current = recorded.load(service_dir, service.stage)
        path = None
        if current is not None:
            current.resources = dict(run.ids)
            path = recorded.save(service_dir, current)
    return Outcome(the_plan, run, path)


def destroy(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
            on_call: OnStep | None = None) -> Outcome:
    service = target.desired(manifest, service_dir, stage)
    with locked(service_dir, service, target, "destroy"):
        the_plan = target.plan(service, None, target.observe(service), "destroy")
        run = execute(the_plan, target, on_call)
        recorded.remove(service_dir, service.stage)
    return Outcome(the_plan, run, None)


__all__ = ["Outcome", "PlanRefused", "RollbackError", "deploy", "destroy", "drift_of",
           "make_plan", "promote", "rollback", "stage_key"]
