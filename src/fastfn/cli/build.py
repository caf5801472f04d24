"""`fastfn build`: the service's real container image, without a Docker daemon.

buildah (`--isolation chroot`) builds the generated Dockerfile on fastfn's Debian-built
Python base, for the architectures of the application shape; the layer cache makes an
unchanged service rebuild in seconds. `--push` also pushes it to the local cloud's
registry (the local OCIR) and prints `repo:tag@sha256:...`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fastfn.cli.common import console, fail, load_service, warn
from fastfn.cli.target_options import CLOUD_STATE

LOCAL_REGISTRY = "local.ocir.io/fastfn"


def default_reference(name: str, stage: str | None) -> str:
    from fastfn.deploy.models import stage_key

    return f"{LOCAL_REGISTRY}/{name}:{stage_key(stage)}"


def _progress(as_json: bool) -> tuple[Any, Any]:
    """A rich status line showing the tool's latest output (none with --json)."""
    if as_json:
        return None, None
    status = console.status("building...")

    def on_line(line: str) -> None:
        text = line.strip()
        if text:
            status.update(f"[dim]{text[:72]}[/]")

    return status, on_line


def build_and_push(service_dir: Path, stage: str | None, reference: str, push: bool,
                   state_dir: Path, as_json: bool) -> tuple[Any, str | None]:
    """Build (and with `push`, push to the local cloud's registry); errors are clean."""
    from fastfn.deploy.errors import BuildError
    from fastfn.deploy.image.buildah import build_image, push_image

    manifest, _ = load_service(service_dir, stage)
    registry = ""
    if push:
        from fastfn.localcloud.oci import running

        cloud = running(state_dir)
        if cloud is None or not cloud.registry:
            raise fail(f"no local cloud with a registry runs on {state_dir}: start one "
                       f"with `fastfn cloud up --state-dir {state_dir}` (or name it with "
                       f"--cloud-state)")
        registry = cloud.registry
    status, on_line = _progress(as_json)
    try:
        if status is not None:
            status.start()
        built = build_image(service_dir, manifest, reference, stage=stage, on_line=on_line)
        pushed = None
        if push:
            from fastfn.localcloud.registry import local_reference

            try:
                destination = local_reference(reference, registry)
            except ValueError as exc:
                raise fail(f"--tag: {exc}") from None
            pushed = push_image(built.reference, destination, is_index=built.is_index,
                                on_line=on_line)
    except BuildError as exc:
        raise fail(str(exc)) from None
    finally:
        if status is not None:
            status.stop()
    return built, pushed


def build(
    service_dir: Path = typer.Argument(Path("."), help="the service directory (fastfn.yaml)"),
    stage: str = typer.Option(None, help="stage (its shape and the default tag)"),
    tag: str = typer.Option(None, "--tag", help="image name, e.g. fra.ocir.io/ns/items:1 "
                            "(default: the one fastfn deploy uses)"),
    push: bool = typer.Option(False, "--push", help="also push it to the local cloud's "
                              "registry"),
    cloud_state: Path = CLOUD_STATE,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Build the service's container image with buildah (no Docker daemon)."""
    manifest, _ = load_service(service_dir, stage)
    reference = tag or default_reference(manifest.name, stage)
    if "@" in reference or ":" not in reference.rsplit("/", 1)[-1]:
        raise fail(f"--tag must look like <registry>/<repo>:<tag> (no digest), "
                   f"got {reference!r}")
    built, pushed = build_and_push(service_dir, stage, reference, push, cloud_state, as_json)
    result = {
        "image": built.reference, "image_id": built.image_id, "size": built.size,
        "platforms": list(built.platforms), "python": built.python,
        "steps": built.steps, "cached_steps": built.cached_steps,
        "layers": list(built.layers), "index": built.is_index,
        "pushed": pushed, "warnings": list(built.warnings),
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    from rich.table import Table

    table = Table(show_header=False, title=f"image for {manifest.name}")
    table.add_row("image", built.reference)
    table.add_row("platforms", ", ".join(built.platforms)
                  + (" (image index)" if built.is_index else ""))
    table.add_row("image id", built.image_id[:12])
    table.add_row("size", f"{built.size / 1e6:.1f} MB (uncompressed)")
    table.add_row("cache", f"{built.cached_steps} of {built.steps} steps reused")
    table.add_row("python", built.python)
    if pushed:
        table.add_row("digest", pushed.rsplit("@", 1)[1])
    console.print(table)
    if pushed:
        console.print(f"pushed {pushed}", highlight=False, soft_wrap=True)
    for warning in built.warnings:
        warn(warning)
