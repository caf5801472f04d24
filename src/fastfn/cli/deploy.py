"""`fastfn plan | deploy | drift | rollback | destroy`: the deploy pipeline's commands.

Where a stage goes (the target):
- by default the local cloud whose state dir is `--cloud-state` (`.fastfn/cloud`, the
  one `fastfn cloud up` serves; env FASTFN_CLOUD_STATE);
- real OCI when `--oci-profile` is given (env FASTFN_OCI_PROFILE), with `--compartment`,
  `--subnet` and, for deploys, `--image <repo>:<tag>@sha256:<digest>` (the pushed image).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from fastfn.cli.common import console, err_console, fail, load_service

DIR_ARG = typer.Argument(Path("."), help="service directory (with fastfn.yaml)")
STAGE = typer.Option(None, "--stage", "-s", help="stage from fastfn.yaml (default: none)")
CLOUD_STATE = typer.Option(Path(".fastfn") / "cloud", "--cloud-state",
                           envvar="FASTFN_CLOUD_STATE",
                           help="local cloud state dir: the target unless --oci-profile")
OCI_PROFILE = typer.Option(None, "--oci-profile", envvar="FASTFN_OCI_PROFILE",
                           help="deploy to real OCI with this oci config profile")
OCI_CONFIG = typer.Option(None, "--oci-config", envvar="OCI_CONFIG_FILE",
                          help="oci config file (default ~/.oci/config)")
COMPARTMENT = typer.Option(None, "--compartment", envvar="FASTFN_COMPARTMENT",
                           help="OCI compartment OCID (real OCI)")
SUBNET = typer.Option([], "--subnet", envvar="FASTFN_SUBNET",
                      help="subnet OCID for the application (real OCI; repeatable)")
NSG = typer.Option([], "--nsg", envvar="FASTFN_NSG",
                   help="network security group OCID for the application (real OCI; "
                        "repeatable)")
IMAGE = typer.Option(None, "--image", envvar="FASTFN_IMAGE",
                     help="pushed image as <repo>:<tag>@sha256:<digest> (real OCI)")
AS_JSON = typer.Option(False, "--json", help="print JSON")


class _TargetArgs:
    def __init__(self, cloud_state: Path, oci_profile: str | None, oci_config: str | None,
                 compartment: str | None, subnet: list[str], image: str | None,
                 nsg: list[str] | None = None) -> None:
        self.cloud_state, self.oci_profile, self.oci_config = cloud_state, oci_profile, oci_config
        self.compartment, self.subnet, self.image = compartment, subnet, image
        self.nsg = nsg or []

    def target(self) -> Any:
        from fastfn.deploy.errors import TargetError
        from fastfn.deploy.targets.oci import local_cloud_target, oci_target

        try:
            if self.oci_profile:
                if not self.compartment or not self.subnet:
                    raise fail("--oci-profile needs --compartment and --subnet")
                return oci_target(self.oci_profile, self.compartment, tuple(self.subnet),
                                  self.image, self.oci_config, tuple(self.nsg))
            return local_cloud_target(self.cloud_state)
        except TargetError as exc:
            raise fail(str(exc)) from None


def _errors() -> tuple[type[BaseException], ...]:
    from fastfn.deploy.errors import EXPECTED_ERRORS

    return EXPECTED_ERRORS


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "-" if value is None else str(value)


def _describe(call: Any) -> str:
    params = {k: v for k, v in call.params.items() if k not in ("tags", "compartment_id")}
    if call.operation in ("create_application", "create_function"):
        return ", ".join(f"{k}={_show(v)}" for k, v in params.items() if k != "config") + (
            f", config: {len(params.get('config') or {})} keys")
    return ", ".join(f"{k}={_show(v)}" for k, v in params.items()) or ""


def print_plan(the_plan: Any, title: str = "plan") -> None:
    stage = the_plan.stage
    if the_plan.calls:
        table = Table(title=f"{title}: {the_plan.service} ({stage})")
        for column in ("#", "call", "resource"):
            table.add_column(column)
        table.add_column("details", overflow="fold")
        for index, call in enumerate(the_plan.calls, 1):
            table.add_row(str(index), call.operation, call.name, _describe(call))
        console.print(table)
    elif the_plan.ok:
        console.print(f"[green]nothing to do[/]: {the_plan.service} ({stage}) is as the "
                      "manifest says", highlight=False)
    print_changes(the_plan.changes, "settings diff (live -> manifest)")
    for refusal in the_plan.refusals:
        err_console.print(f"[bold red]refused:[/] {refusal}", highlight=False)


def print_changes(changes: list[Any], title: str) -> None:
    if not changes:
        return
    table = Table(title=title)
    for column in ("resource", "setting", "live", "manifest"):
        table.add_column(column, overflow="fold")
    for change in changes:
        table.add_row(change.resource, change.key, _show(change.live), _show(change.desired))
    console.print(table)


def plan(
    service_dir: Path = DIR_ARG, stage: str = STAGE, image_only: bool = typer.Option(
        False, "--image-only", help="plan an image-only update"),
    cloud_state: Path = CLOUD_STATE, oci_profile: str = OCI_PROFILE,
    oci_config: str = OCI_CONFIG, compartment: str = COMPARTMENT, subnet: list[str] = SUBNET,
    nsg: list[str] = NSG, image: str = IMAGE, as_json: bool = AS_JSON,
) -> None:
    """Show the API calls a deploy would make and the settings it would change (read-only)."""
    from fastfn.deploy.deployer import make_plan

    manifest, _ = load_service(service_dir, stage)
    target = _TargetArgs(cloud_state, oci_profile, oci_config, compartment, subnet,
                         image, nsg).target()
    try:
        the_plan = make_plan(manifest, service_dir, stage, target,
                             "image-only" if image_only else "full")
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(the_plan.to_json(), indent=2))
    else:
        print_plan(the_plan)
    if not the_plan.ok:
        raise typer.Exit(1)


def deploy(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    image_only: bool = typer.Option(False, "--image-only",
                                    help="update only the image (seed 000's update phase)"),
    force: bool = typer.Option(False, "--force",
                               help="with --image-only: update the image despite drift"),
    cloud_state: Path = CLOUD_STATE, oci_profile: str = OCI_PROFILE,
    oci_config: str = OCI_CONFIG, compartment: str = COMPARTMENT, subnet: list[str] = SUBNET,
    nsg: list[str] = NSG, image: str = IMAGE, as_json: bool = AS_JSON,
) -> None:
    """Create or update the stage's application and function so they match the manifest."""
    from fastfn.deploy import deployer
    from fastfn.deploy.errors import PlanRefused

    manifest, _ = load_service(service_dir, stage)
    target = _TargetArgs(cloud_state, oci_profile, oci_config, compartment, subnet,
                         image, nsg).target()
    with err_console.status("deploying...") as status:
        def progress(call: Any) -> None:
            status.update(f"{call.operation} {call.name}")

        try:
            outcome = deployer.deploy(manifest, service_dir, stage, target,
                                      "image-only" if image_only else "full", force,
                                      on_call=None if as_json else progress)
        except PlanRefused as exc:
            if as_json:
                typer.echo(json.dumps(exc.plan.to_json(), indent=2))
            else:
                print_plan(exc.plan)
            raise typer.Exit(1) from None
        except _errors() as exc:
            raise fail(str(exc)) from None
    run = outcome.execution
    if as_json:
        typer.echo(json.dumps({"plan": outcome.plan.to_json(),
                               "mutating_calls": run.mutating_calls, "ids": run.ids,
                               "state": str(outcome.state_path)}, indent=2))
        return
    print_plan(outcome.plan, "deployed")
    console.print(f"{run.mutating_calls} mutating call(s); function {run.ids.get('function')}"
                  f"; state in {outcome.state_path}", highlight=False)


def drift(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    exit_code: bool = typer.Option(False, "--exit-code", help="exit 2 when there is drift"),
    cloud_state: Path = CLOUD_STATE, oci_profile: str = OCI_PROFILE,
    oci_config: str = OCI_CONFIG, compartment: str = COMPARTMENT, subnet: list[str] = SUBNET,
    nsg: list[str] = NSG, as_json: bool = AS_JSON,
) -> None:
    """Live settings that differ from the manifest (a console edit, say)."""
    from fastfn.deploy.deployer import drift_of

    manifest, _ = load_service(service_dir, stage)
    target = _TargetArgs(cloud_state, oci_profile, oci_config, compartment, subnet,
                         None, nsg).target()
    try:
        service, changes, deployed = drift_of(manifest, service_dir, stage, target)
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"stage": service.stage, "deployed": deployed,
                               "drift": [c.to_json() for c in changes]}, indent=2))
    elif not deployed:
        console.print(f"stage {service.stage!r} is not deployed", highlight=False)
    elif not changes:
        console.print(f"[green]no drift[/]: {service.function.name} matches the manifest",
                      highlight=False)
    else:
        print_changes(changes, f"drift: {service.function.name} (live -> manifest)")
    if exit_code and changes:
        raise typer.Exit(2)


def rollback(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    cloud_state: Path = CLOUD_STATE, oci_profile: str = OCI_PROFILE,
    oci_config: str = OCI_CONFIG, compartment: str = COMPARTMENT, subnet: list[str] = SUBNET,
    as_json: bool = AS_JSON,
) -> None:
    """Put the previously deployed image (by digest) back: one update call."""
    from fastfn.deploy import deployer

    manifest, _ = load_service(service_dir, stage)
    target = _TargetArgs(cloud_state, oci_profile, oci_config, compartment, subnet,
                         None).target()
    try:
        outcome = deployer.rollback(manifest, service_dir, stage, target)
    except _errors() as exc:
        raise fail(str(exc)) from None
    built = outcome.plan.built
    assert built is not None
    if as_json:
        typer.echo(json.dumps({"image": built.image, "digest": built.digest,
                               "mutating_calls": outcome.execution.mutating_calls}, indent=2))
        return
    console.print(f"rolled back to {built.image}@{built.digest}", highlight=False)


def destroy(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
    cloud_state: Path = CLOUD_STATE, oci_profile: str = OCI_PROFILE,
    oci_config: str = OCI_CONFIG, compartment: str = COMPARTMENT, subnet: list[str] = SUBNET,
    as_json: bool = AS_JSON,
) -> None:
    """Delete the stage's function and application (other stages are not touched)."""
    from fastfn.deploy import deployer

    manifest, resolved = load_service(service_dir, stage)
    if not yes and not typer.confirm(f"delete {resolved.name} (function and application)?"):
        raise typer.Exit(1)
    target = _TargetArgs(cloud_state, oci_profile, oci_config, compartment, subnet,
                         None).target()
    try:
        outcome = deployer.destroy(manifest, service_dir, stage, target)
    except deployer.PlanRefused as exc:
        print_plan(exc.plan, "destroy")
        raise typer.Exit(1) from None
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(outcome.plan.to_json(), indent=2))
    elif outcome.plan.calls:
        print_plan(outcome.plan, "destroyed")
    else:
        console.print(f"{resolved.name}: nothing deployed", highlight=False)


ci = typer.Typer(help="Continuous delivery workflows for a service.", no_args_is_help=True)


def _repo_root(start: Path) -> Path:
    for candidate in [start, *start.parents]:
        if (candidate / ".git").exists():
            return candidate
    return Path.cwd().resolve()


@ci.command()
def github(
    service_dir: Path = DIR_ARG,
    update_stage: str = typer.Option(None, "--update-stage",
                                      help="stage the push-to-main update deploys "
                                           "(default: the manifest without a stage)"),
    out: Path = typer.Option(None, "--out", help="directory (default: <repo>/.github/"
                                                 "workflows)"),
    repo: str = typer.Option(None, "--repo", help="org/name: only this repository deploys "
                                                  "(forks never do)"),
    force: bool = typer.Option(False, "--force", help="overwrite files fastfn did not write"),
    target: str = typer.Option(None, "--target",
                               help="oci (Functions: provision + update) or pool (seed "
                                    "002: oci-deploy + infra-ci, Terraform in <dir>/infra); "
                                    "default: the manifest's target"),
) -> None:
    """Write the GitHub Actions workflows of a service: for OCI Functions seed 000's pair,
    provision (manual) and update (image only, on push to main); for an instance pool
    seed 002's oci-deploy and infra-ci."""
    from fastfn.deploy.ci_github import GENERATED_MARK, workflows

    manifest, _ = load_service(service_dir, None)
    target = target or getattr(manifest, "target", "oci")
    if target not in ("oci", "pool"):
        raise fail(f"--target must be oci or pool, got {target!r}")
    service = service_dir.resolve()
    root = _repo_root(service)
    try:
        relative = service.relative_to(root).as_posix()
        if target == "pool":
            from fastfn.deploy.targets.pool.ci import workflows as pool_workflows

            generated = pool_workflows(manifest, relative, service / "infra", repo)
        else:
            generated = workflows(manifest, relative, update_stage, repo)
    except ValueError as exc:
        raise fail(str(exc)) from None
    target_dir = out or root / ".github" / "workflows"
    for workflow in generated:
        path = target_dir / workflow.filename
        if path.exists() and not force and not path.read_text().startswith(GENERATED_MARK):
            raise fail(f"{path} exists and was not written by fastfn; pass --force")
    target_dir.mkdir(parents=True, exist_ok=True)
    for workflow in generated:
        (target_dir / workflow.filename).write_text(workflow.text)
        console.print(f"wrote {target_dir / workflow.filename}", highlight=False)
