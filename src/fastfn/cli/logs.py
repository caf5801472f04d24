"""`fastfn logs`: a function's output on the local OCI cloud, per invocation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from fastfn.cli.common import console, fail, load_service
from fastfn.cli.target_options import CLOUD_STATE

_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_STYLES = {"warning": "yellow", "warn": "yellow", "error": "bold red",
           "critical": "bold red", "fatal": "bold red", "debug": "dim"}


def parse_since(value: str | None) -> datetime | None:
    """`10m`, `2h`, `1d`, `30s` ago, or an ISO 8601 time (UTC when it has no zone)."""
    if value is None:
        return None
    match = _AGO.match(value.strip())
    if match:
        return datetime.now(UTC) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since must be like 10m, 2h, 1d or an ISO time, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _target(name: str, stage: str | None) -> str:
    """A function/application name, or the name a service directory deploys as."""
    path = Path(name)
    if path.is_dir() and any((path / f).exists() for f in ("fastfn.yaml", "fastfn.yml")):
        _, resolved = load_service(path, stage)
        return resolved.name
    return name


def _show(entry: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(entry))
        return
    when = str(entry.get("time", ""))[11:23]
    level = str(entry.get("level", "info"))
    call = str(entry.get("callId") or "-")[-8:]
    style = _STYLES.get(level, "")
    text = f"{when} {entry.get('function', '')} {level:<7} {call} {entry.get('message', '')}"
    console.print(f"[{style}]{_escape(text)}[/]" if style else _escape(text),
                  highlight=False, soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def logs(
    name: str = typer.Argument(..., help="function or application name, or a service dir"),
    cloud_state: Path = CLOUD_STATE,
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new lines"),
    since: str = typer.Option(None, help="only lines since: 10m, 2h, 1d or an ISO time"),
    call_id: str = typer.Option(None, "--call-id", help="only this invocation's lines"),
    stage: str = typer.Option(None, help="the stage, when NAME is a service directory"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """Print a function's stdout/stderr lines from the local OCI cloud, with call ids."""
    from fastfn.localcloud.oci.core.layout import StateLayout
    from fastfn.localcloud.oci.logs import FunctionLogs

    target = _target(name, stage)
    when = parse_since(since)
    store = FunctionLogs(StateLayout(cloud_state).logs)
    if not follow:
        entries = store.read(target, when, call_id)
        if not entries and not as_json:
            console.print(f"no log lines for {target!r} in {cloud_state}", highlight=False)
        for entry in entries:
            _show(entry, as_json)
        return
    try:
        for entry in store.follow(target, when):
            if call_id is None or entry.get("callId") == call_id:
                _show(entry, as_json)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
