"""`fastfn init` (a new service) and `fastfn dockerfile` (its container file)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from fastfn import __version__
from fastfn.cli.common import console, fail, load_service

NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")

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
target: oci                 # where `fastfn deploy` goes: oci | aws | pool
default_route: POST /items  # where a direct invoke (no method, no path) goes
path_prefix: /v1            # the API gateway deployment's path prefix
config: {{}}
secrets: {{}}                 # NAME: vault:<secret-ocid> or ssm:/<name> (never values)
oci:                        # OCI Functions
  shape: GENERIC_X86        # GENERIC_X86 | GENERIC_ARM | GENERIC_X86_ARM (fixed at create)
  memory: 256               # MB: 128, 256, 512, 1024, 2048 or 3072
  timeout: 30               # seconds, at most 300
stages:
  dev: {{}}
  prod:
    oci: {{memory: 512}}
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
    name: str = typer.Argument(..., help="service name (lowercase letters, digits, dashes), "
                                         "or a path whose last part is the name"),
    directory: Path = typer.Argument(None, help="where to create it (default: ./NAME)"),
    dir_option: Path = typer.Option(None, "--dir", help="same as DIRECTORY"),
    shape: str = typer.Option("GENERIC_X86", help="OCI Functions application shape"),
) -> None:
    """Scaffold a service: app, manifest, Dockerfile, requirements."""
    import yaml

    from fastfn.deploy.container import dockerfile as render_dockerfile
    from fastfn.manifest import ManifestError, parse

    if directory is not None and dir_option is not None and directory != dir_option:
        raise fail("give the directory once: as DIRECTORY or as --dir")
    target = directory or dir_option
    if "/" in name:  # `fastfn init ./services/shop`: the path's last part is the name
        target = target or Path(name)
        name = Path(name).name
    target = target or Path(name)
    if not NAME.match(name):
        raise fail(f"service name {name!r} must be lowercase letters, digits and dashes, "
                   "starting with a letter, at most 64 characters (e.g. 'my-svc')")
    if target.exists() and any(target.iterdir()):
        raise fail(f"{target} exists and is not empty")
    manifest_text = MANIFEST.format(name=name).replace(
        "shape: GENERIC_X86 ", f"shape: {shape} ", 1)

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
        console.print(f"created {target / filename}", highlight=False, markup=False)
    console.print("\nnext: " + f"fastfn dev {target}", style="bold", highlight=False,
                  markup=False)


def dockerfile(
    service_dir: Path = typer.Argument(Path("."), help="service directory"),
    write: bool = typer.Option(False, "--write", help="write ./Dockerfile instead of printing"),
) -> None:
    """Print (or write) the Dockerfile for a service's manifest."""
    from fastfn.deploy.container import dockerfile as render_dockerfile

    manifest, _ = load_service(service_dir, None)
    text = render_dockerfile(manifest)
    if write:
        (service_dir / "Dockerfile").write_text(text)
        console.print(f"wrote {service_dir / 'Dockerfile'}", highlight=False, markup=False)
    else:
        typer.echo(text, nl=False)
