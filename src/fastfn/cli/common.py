"""What the commands share: consoles, messages, manifest loading with clean errors.

Nothing heavy is imported here at start-up (rich, pydantic, the manifest): `fastfn --help`
and the simple commands pay only for what they use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.text import Text

    from fastfn.manifest import Manifest, ResolvedFunction, ResolvedService

DEV_STATE = Path(".fastfn") / "dev.json"


class LazyConsole:
    """A rich Console made on first use (importing rich costs more than most commands)."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return getattr(self._console, name)


console: Any = LazyConsole()
err_console: Any = LazyConsole(stderr=True)


def styled(prefix: str, message: str = "", style: str = "") -> Text:
    """`prefix` is markup we wrote; `message` is printed exactly as it is (a manifest
    pattern, a path or a server's answer may hold square brackets)."""
    from rich.text import Text

    return Text.from_markup(prefix) + Text(message, style=style)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(styled("[bold red]error:[/] ", message), highlight=False)
    return typer.Exit(code)


def warn(message: str) -> None:
    err_console.print(styled("[yellow]warning:[/] ", message), highlight=False)


def load_service(service_dir: Path, stage: str | None) -> tuple[Manifest, ResolvedFunction]:
    from fastfn.manifest import ManifestError, load

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


def local_config(fn: ResolvedService, assignments: list[str]) -> dict[str, str]:
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
                warn(f"secret {name} refers to {ref}, but {variable} is not set in this "
                     "environment")
    config.update(parse_assignments(assignments, "--config"))
    return config
