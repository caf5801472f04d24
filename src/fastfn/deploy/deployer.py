"""The pipeline, end to end: models -> build -> plan -> execute -> recorded state.

Each step is a module of its own; this one only strings them together for the commands
(`plan`, `deploy`, `drift`, `rollback`, `destroy`). The plan is always computed from
what the target observes, not from the recorded state, so an interrupted deploy is
finished by running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastfn.deploy import state as recorded
from fastfn.deploy.errors import PlanRefused, RollbackError
from fastfn.deploy.executor import Execution, execute
from fastfn.deploy.lock import stage_lock
from fastfn.deploy.models import DesiredService, stage_key
from fastfn.deploy.planner import Mode, Plan, SettingChange, drift
from fastfn.deploy.steps import Artifact, Step
from fastfn.deploy.targets import Target
from fastfn.manifest import Manifest


@dataclass
class Outcome:
    plan: Plan
    execution: Execution
    state_path: Path | None


def desired(manifest: Manifest, service_dir: Path, stage: str | None,
            target: Target) -> DesiredService:
    return target.desired(manifest, service_dir, stage)  # limits checked here


def make_plan(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
              mode: Mode = "full", force: bool = False) -> Plan:
    service = desired(manifest, service_dir, stage, target)
    built = target.build(service)
    return target.plan(service, built, target.observe(service), mode, force)


def deploy(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
           mode: Mode = "full", force: bool = False,
           on_call: Callable[[Step], None] | None = None) -> Outcome:
    service = desired(manifest, service_dir, stage, target)
    with stage_lock(service_dir, service.stage, "deploy"):
        built = target.build(service)
        the_plan = target.plan(service, built, target.observe(service), mode, force)
        run = execute(the_plan, target, on_call)
        path = _record(service_dir, service, target, run, built, mode)
    return Outcome(the_plan, run, path)


def _record(service_dir: Path, service: DesiredService, target: Target, run: Execution,
            built: Artifact, mode: Mode) -> Path:
    current = recorded.load(service_dir, service.stage) or recorded.StageState(
        service=service.service, stage=service.stage, target=target.describe())
    current.target = target.describe()
    current.application_id = run.ids.get("application")
    current.function_id = run.ids.get("function")
    if mode == "full":  # an image-only update leaves the settings as they were
        current.settings_fingerprint = recorded.fingerprint(
            {"application": service.application.settings,
             "function": service.function.settings})
    current.record_image(built.image, built.digest)
    return recorded.save(service_dir, current)


def drift_of(manifest: Manifest, service_dir: Path, stage: str | None,
             target: Target) -> tuple[DesiredService, list[SettingChange], bool]:
    """Live settings that differ from the manifest; False when nothing is deployed."""
    service = desired(manifest, service_dir, stage, target)
    observed = target.observe(service)
    deployed = observed.application is not None or observed.function is not None
    return service, drift(service, observed), deployed


def rollback(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
             on_call: Callable[[Step], None] | None = None) -> Outcome:
    """Back to the previous recorded image digest: one update_function call."""
    service = desired(manifest, service_dir, stage, target)
    with stage_lock(service_dir, service.stage, "rollback"):
        current = recorded.load(service_dir, service.stage)
        previous = current.previous_image() if current else None
        if current is None or previous is None:
            raise RollbackError(f"stage {service.stage!r} has no earlier deployed image "
                                f"recorded in {recorded.path_for(service_dir, service.stage)}")
        the_plan = target.plan(service, Artifact(previous.image, previous.digest),
                               target.observe(service), "rollback")
        if not the_plan.ok:
            raise RollbackError("; ".join(the_plan.refusals))
        run = execute(the_plan, target, on_call)
        current.function_id = run.ids.get("function")
        current.record_image(previous.image, previous.digest)
        path = recorded.save(service_dir, current)
    return Outcome(the_plan, run, path)


def destroy(manifest: Manifest, service_dir: Path, stage: str | None, target: Target,
            on_call: Callable[[Step], None] | None = None) -> Outcome:
    service = desired(manifest, service_dir, stage, target)
    with stage_lock(service_dir, service.stage, "destroy"):
        the_plan = target.plan(service, None, target.observe(service), "destroy")
        run = execute(the_plan, target, on_call)
        recorded.remove(service_dir, service.stage)
    return Outcome(the_plan, run, None)


__all__ = ["Outcome", "PlanRefused", "RollbackError", "deploy", "destroy", "drift_of",
           "make_plan", "rollback", "stage_key"]
