"""What the commands share: consoles, manifest loading with clean errors."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from fastfn.manifest import Manifest, ManifestError, ResolvedFunction, load

console = Console()
err_console = Console(stderr=True)

DEV_STATE = Path(".fastfn") / "dev.json"


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def load_service(service_dir: Path, stage: str | None) -> tuple[Manifest, ResolvedFunction]:
    try:
        manifest = load(service_dir)
        return manifest, manifest.resolve(stage)
    except ManifestError as exc:
        raise fail(str(exc)) from None


def parse_assignments(values: list[str], option: str) -> dict[str, str]:
    """`--config KEY=VALUE` pairs, with the key checked as Fn checks config keys."""
    from fastfn.manifest import CONFIG_KEY

    parsed: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not CONFIG_KEY.match(key):
            raise fail(f"{option} must look like KEY=VALUE with KEY matching "
                        f"[A-Za-z_][A-Za-z0-9_]*, got {key or item!r}")
        parsed[key] = value
    return parsed


def local_config(fn: ResolvedFunction, assignments: list[str]) -> dict[str, str]:
    """Config a local run adds: the host variables that `env:` secret references name
    (only those), then --config KEY=VALUE pairs."""
    import os

    config: dict[str, str] = {}
    for name, ref in fn.secrets.items():
        if ref.startswith("env:"):
            variable = ref.removeprefix("env:")
            if variable in os.environ:
                config[variable] = os.environ[variable]
            else:
                err_console.print(f"[yellow]warning:[/] secret {name} refers to {ref}, "
                                  f"but {variable} is not set in this environment")
    config.update(parse_assignments(assignments, "--config"))
    return config
