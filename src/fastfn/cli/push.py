"""`fastfn push`: a service's image into the local cloud's registry, so that
`oci fn function create --image ...` can name it as the seeds do."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fastfn.cli.common import console, fail, load_service

DEFAULT_STATE = Path(".fastfn") / "cloud"
LOCAL_REGISTRY = "local.ocir.io/fastfn"


def push(
    service_dir: Path = typer.Argument(Path("."), help="the service directory (fastfn.yaml)"),
    image: str = typer.Option(None, help="image reference, e.g. fra.ocir.io/ns/repo:tag "
                              "(default: the one fastfn deploy uses)"),
    stage: str = typer.Option(None, help="stage (names the default tag)"),
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir",
                                   help="the local cloud's state directory"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Put a service's image into the local OCI cloud's registry; prints its digest."""
    from fastfn.deploy.models import stage_key
    from fastfn.localcloud.oci.images import ImageStore

    manifest, resolved = load_service(service_dir, stage)
    reference = image or f"{LOCAL_REGISTRY}/{manifest.name}:{stage_key(stage)}"
    if "@" in reference or reference.count(":") < 1 or reference.endswith(":"):
        raise fail(f"--image must look like <registry>/<repo>:<tag> (no digest), "
                   f"got {reference!r}")
    state_dir.mkdir(parents=True, exist_ok=True)
    store = ImageStore.open(state_dir)
    try:
        digest = store.put(reference, service_dir, resolved.app)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    finally:
        store.store.close()
    if as_json:
        typer.echo(json.dumps({"image": reference, "digest": digest}))
        return
    console.print(f"pushed [bold]{reference}[/]@{digest}", highlight=False)
    console.print(f"oci fn function create --image {reference} ...", highlight=False)
