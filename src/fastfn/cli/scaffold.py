"""`fastfn init` (a new service) and `fastfn dockerfile` (its container file)."""

from __future__ import annotations

from pathlib import Path

import typer

from fastfn import __version__
from fastfn.cli.common import console, fail, load_service
from fastfn.deploy.container import dockerfile as render_dockerfile
from fastfn.manifest import ManifestError, parse

MAIN_PY = '''\
"""{name}: a FastAPI service run by fastfn on OCI Functions (and locally with `fastfn dev`)."""

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI(title="{name}")


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)


@app.get("/health")
def health() -> dict[str, str]:
    return {{"status": "ok"}}


@app.post("/items", status_code=201)
def create_item(item: ItemIn) -> dict[str, str | None]:
    return {{"name": item.name, "description": item.description}}
'''

MANIFEST = """\
# fastfn manifest (see the fastfn README, "Manifest")
name: {name}
app: main:app
shape: GENERIC_X86          # GENERIC_X86 | GENERIC_ARM | GENERIC_X86_ARM (fixed at create)
memory: 256                 # MB: 128, 256, 512, 1024, 2048 or 3072
timeout: 30                 # seconds, at most 300
default_route: POST /items  # where a direct invoke (no method, no path) goes
path_prefix: /v1            # the API gateway deployment's path prefix
config: {{}}
secrets: {{}}                 # NAME: vault:<secret-ocid>  (references, never values)
stages:
  dev: {{}}
  prod:
    memory: 512
"""

REQUIREMENTS = """\
fastfn=={version}
fastapi>=0.115
"""

DOCKERIGNORE = """\
.venv/
.fastfn/
__pycache__/
*.pyc
.git/
"""


def init(
    name: str = typer.Argument(..., help="service name: lowercase letters, digits, dashes"),
    directory: Path = typer.Option(None, "--dir", help="where to create it (default: ./NAME)"),
    shape: str = typer.Option("GENERIC_X86", help="application shape"),
) -> None:
    """Scaffold a service: app, manifest, Dockerfile, requirements."""
    target = directory or Path(name)
    if target.exists() and any(target.iterdir()):
        raise fail(f"{target} exists and is not empty")
    manifest_text = MANIFEST.format(name=name).replace(
        "shape: GENERIC_X86 ", f"shape: {shape} ", 1)
    import yaml

    try:
        manifest = parse(yaml.safe_load(manifest_text))
    except ManifestError as exc:
        raise fail(str(exc)) from None
    target.mkdir(parents=True, exist_ok=True)
    files = {
        "main.py": MAIN_PY.format(name=name),
        "fastfn.yaml": manifest_text,
        "requirements.txt": REQUIREMENTS.format(version=__version__),
        "Dockerfile": render_dockerfile(manifest),
        ".dockerignore": DOCKERIGNORE,
    }
    for filename, content in files.items():
        (target / filename).write_text(content)
        console.print(f"created {target / filename}", highlight=False)
    console.print(f"\nnext: [bold]fastfn dev {target}[/]", highlight=False)


def dockerfile(
    service_dir: Path = typer.Argument(Path("."), help="service directory"),
    write: bool = typer.Option(False, "--write", help="write ./Dockerfile instead of printing"),
    target: str | None = typer.Option(None, "--target",
                                      help="oci|pool (default: the manifest's target)"),
) -> None:
    """Print (or write) the Dockerfile for a service's manifest."""
    manifest, _ = load_service(service_dir, None)
    if (target or manifest.target) == "pool":
        from fastfn.deploy.targets.pool.container import pool_dockerfile

        try:
            text = pool_dockerfile(manifest)
        except ValueError as exc:
            raise fail(str(exc)) from None
    else:
        text = render_dockerfile(manifest)
    if write:
        (service_dir / "Dockerfile").write_text(text)
        console.print(f"wrote {service_dir / 'Dockerfile'}", highlight=False)
    else:
        typer.echo(text, nl=False)
