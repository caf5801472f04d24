"""`fastfn plan | deploy | drift | rollback | promote | destroy`: the deploy pipeline's
commands, for every target.

Where a stage goes (`cli/target_options.py`): the target kind is `--target` or the
manifest's `target:` (oci by default); each target is by default the embedded local cloud
on `--cloud-state` (`.fastfn/cloud`, the one `fastfn cloud up` serves), and the real cloud
with `--profile` (real OCI also needs `--compartment`, `--subnet` and, for deploys,
`--image <repo>:<tag>@sha256:<digest>`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fastfn.cli.common import console, err_console, fail, load_service, styled
from fastfn.cli.ids import shorten_ocids
from fastfn.cli.target_options import Where, with_target

DIR_ARG = typer.Argument(Path("."), help="service directory (with fastfn.yaml)")
STAGE = typer.Option(None, "--stage", "-s", help="stage from fastfn.yaml (default: none)")
AS_JSON = typer.Option(False, "--json", help="print JSON")


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


def _table(title: str) -> Any:
    from rich.table import Table

    return Table(title=title)


def _cell(value: Any) -> Any:
    from rich.text import Text

    # never markup: values come from manifests and clouds; OCIDs shortened (`--json` has
    # them whole), or each one wraps over several lines at 80 columns
    return Text(shorten_ocids(str(value)))


def print_plan(the_plan: Any, title: str = "plan") -> None:
    stage = the_plan.stage
    if the_plan.calls:
        table = _table(f"{title}: {the_plan.service} ({stage})")
        for column in ("#", "call", "resource"):
            table.add_column(column)
        table.add_column("details", overflow="fold")
        for index, call in enumerate(the_plan.calls, 1):
            table.add_row(str(index), call.operation, _cell(call.name),
                          _cell(_describe(call)))
        console.print(table)
    elif the_plan.ok:
        console.print(styled("[green]nothing to do[/]: ", f"{the_plan.service} ({stage}) is "
                             "as the manifest says"), highlight=False)
    print_changes(the_plan.changes, "settings diff (live -> manifest)")
    for refusal in the_plan.refusals:
        err_console.print(styled("[bold red]refused:[/] ", refusal), highlight=False)


def print_changes(changes: list[Any], title: str) -> None:
    if not changes:
        return
    table = _table(title)
    for column in ("resource", "setting", "live", "manifest"):
        table.add_column(column, overflow="fold")
    for change in changes:
        table.add_row(_cell(change.resource), _cell(change.key), _cell(_show(change.live)),
                      _cell(_show(change.desired)))
    console.print(table)


CANARY = typer.Option(None, "--canary", min=1, max=99,
                      help="percent of traffic for the new version (aws)")


def _plan_options(force: bool = False, canary: int | None = None) -> Any:
    from fastfn.deploy.plan import PlanOptions

    return PlanOptions(force=force, canary_percent=canary)


@with_target
def plan(
    service_dir: Path = DIR_ARG, stage: str = STAGE, image_only: bool = typer.Option(
        False, "--image-only", help="plan an image-only update"),
    canary: int = CANARY, as_json: bool = AS_JSON, *, where: Where,
) -> None:
    """Show the API calls a deploy would make and the settings it would change (read-only)."""
    from fastfn.deploy.deployer import make_plan

    manifest, _ = load_service(service_dir, stage)
    target = where.target(manifest)
    try:
        the_plan = make_plan(manifest, service_dir, stage, target,
                             "image-only" if image_only else "full",
                             _plan_options(canary=canary))
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(the_plan.to_json(), indent=2))
    else:
        print_plan(the_plan)
    if not the_plan.ok:
        raise typer.Exit(1)


@with_target
def deploy(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    image_only: bool = typer.Option(False, "--image-only",
                                    help="update only the image (seed 000's update phase)"),
    force: bool = typer.Option(False, "--force",
                               help="with --image-only: update the image despite drift"),
    canary: int = CANARY, as_json: bool = AS_JSON, *, where: Where,
) -> None:
    """Create or update the stage's resources so they match the manifest."""
    from fastfn.deploy import deployer
    from fastfn.deploy.errors import PlanRefused

    manifest, _ = load_service(service_dir, stage)
    target = where.target(manifest)
    with err_console.status("deploying...") as status:
        def progress(call: Any) -> None:
            status.update(f"{call.operation} {call.name}")

        try:
            outcome = deployer.deploy(manifest, service_dir, stage, target,
                                      "image-only" if image_only else "full",
                                      _plan_options(force, canary),
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
        deployed = run.pushed or outcome.plan.artifact  # the registry's digest, if pushed
        typer.echo(json.dumps({"plan": outcome.plan.to_json(),
                               "image": None if deployed is None else
                               {"image": deployed.image, "digest": deployed.digest},
                               "mutating_calls": run.mutating_calls, "ids": run.ids,
                               "state": str(outcome.state_path)}, indent=2))
        return
    print_plan(outcome.plan, "deployed")
    if run.pushed is not None:
        console.print(f"pushed {run.pushed.image}@{run.pushed.digest}", highlight=False,
                      markup=False, soft_wrap=True)
    console.print(f"{run.mutating_calls} mutating call(s); state in {outcome.state_path}",
                  highlight=False, markup=False)
    _print_ids(run.ids)


def _print_ids(ids: dict[str, str]) -> None:
    for kind, resource_id in ids.items():
        console.print(f"  {kind}: {resource_id}", highlight=False, markup=False, soft_wrap=True)


@with_target
def drift(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    exit_code: bool = typer.Option(False, "--exit-code", help="exit 2 when there is drift"),
    as_json: bool = AS_JSON, *, where: Where,
) -> None:
    """Live settings that differ from the manifest (a console edit, say)."""
    from fastfn.deploy.deployer import drift_of

    manifest, resolved = load_service(service_dir, stage)
    target = where.target(manifest)
    try:
        service, changes, deployed = drift_of(manifest, service_dir, stage, target)
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"stage": service.stage, "deployed": deployed,
                               "drift": [c.to_json() for c in changes]}, indent=2))
    elif not deployed:
        console.print(f"stage {service.stage!r} is not deployed", highlight=False, markup=False)
    elif not changes:
        console.print(styled("[green]no drift[/]: ", f"{resolved.name} matches the manifest"),
                      highlight=False)
    else:
        print_changes(changes, f"drift: {resolved.name} (live -> manifest)")
    if exit_code and changes:
        raise typer.Exit(2)


@with_target
def rollback(
    service_dir: Path = DIR_ARG, stage: str = STAGE, as_json: bool = AS_JSON, *, where: Where,
) -> None:
    """Put the previously deployed artifact back (an OCI function's image by digest, a
    Lambda alias's version, a pool's instance configuration), in one step."""
    from fastfn.deploy import deployer

    manifest, _ = load_service(service_dir, stage)
    target = where.target(manifest)
    try:
        outcome = deployer.rollback(manifest, service_dir, stage, target)
    except _errors() as exc:
        raise fail(str(exc)) from None
    built = outcome.plan.artifact
    if built is None:
        raise fail("the rollback plan names no artifact")
    if as_json:
        typer.echo(json.dumps({"image": built.image, "digest": built.digest,
                               "refs": built.refs,
                               "mutating_calls": outcome.execution.mutating_calls}, indent=2))
        return
    console.print(f"rolled back to {built.image}@{built.digest}", highlight=False, markup=False)


@with_target
def promote(
    service_dir: Path = DIR_ARG, stage: str = STAGE, as_json: bool = AS_JSON, *, where: Where,
) -> None:
    """Finish a canary: the new version takes all the traffic (aws)."""
    from fastfn.deploy import deployer

    manifest, _ = load_service(service_dir, stage)
    target = where.target(manifest)
    try:
        outcome = deployer.promote(manifest, service_dir, stage, target)
    except deployer.PlanRefused as exc:
        print_plan(exc.plan, "promote")
        raise typer.Exit(1) from None
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"plan": outcome.plan.to_json(),
                               "mutating_calls": outcome.execution.mutating_calls}, indent=2))
        return
    print_plan(outcome.plan, "promoted")


@with_target
def destroy(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
    as_json: bool = AS_JSON, *, where: Where,
) -> None:
    """Delete the stage's resources (other stages are not touched)."""
    from fastfn.deploy import deployer

    manifest, resolved = load_service(service_dir, stage)
    if not yes and not typer.confirm(f"delete {resolved.name} and its resources?"):
        raise typer.Exit(1)
    target = where.target(manifest)
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
        console.print(f"{resolved.name}: nothing deployed", highlight=False, markup=False)


ci = typer.Typer(help="Continuous delivery workflows for a service.", no_args_is_help=True,
                 rich_markup_mode=None)


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
                               help="oci (Functions: provision + update), pool (seed "
                                    "002: oci-deploy + infra-ci, Terraform in <dir>/infra) "
                                    "or aws (seed 004: dev/qa/prod on Lambda); default: the "
                                    "manifest's target"),
) -> None:
    """Write the GitHub Actions workflows of a service: for OCI Functions seed 000's pair,
    provision (manual) and update (image only, on push to main); for an instance pool
    seed 002's oci-deploy and infra-ci."""
    from fastfn.deploy.ci_github import GENERATED_MARK, workflows

    manifest, _ = load_service(service_dir, None)
    target = target or getattr(manifest, "target", "oci")
    if target not in ("oci", "pool", "aws"):
        raise fail(f"--target must be oci, pool or aws, got {target!r}")
    service = service_dir.resolve()
    root = _repo_root(service)
    try:
        relative = service.relative_to(root).as_posix()
        if target == "pool":
            from fastfn.deploy.targets.pool.ci import workflows as pool_workflows

            generated = pool_workflows(manifest, relative, service / "infra", repo)
        elif target == "aws":
            from fastfn.deploy.targets.aws.ci import workflows as aws_workflows

            generated = aws_workflows(manifest, relative, repo)  # type: ignore[assignment]
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
        console.print(f"wrote {target_dir / workflow.filename}", highlight=False, markup=False)
