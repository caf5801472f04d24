"""`fastfn cloud`: the local OCI cloud (Object Storage, Vault, Functions, Events, Identity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from fastfn.cli.common import console, fail

cloud = typer.Typer(help="The local OCI cloud that the oci SDK and CLI talk to.",
                    no_args_is_help=True)

DEFAULT_STATE = Path(".fastfn") / "cloud"
STATE_HELP = "state directory (survives restarts)"


@cloud.command()
def up(
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
    port: int = typer.Option(10000, help="REST endpoint port on 127.0.0.1 (0: any free)"),
    proxy_port: int = typer.Option(10001, help="HTTPS proxy port for OCI host names"),
    tenancy: Path = typer.Option(None, help="tenancy YAML (compartments, policies, networks)"),
) -> None:
    """Serve the local OCI cloud in the foreground until Ctrl-C."""
    from fastfn.localcloud.oci import serve

    if tenancy is not None and not tenancy.is_file():
        raise fail(f"--tenancy: {tenancy} is not a file")

    def ready(urls: dict[str, str]) -> None:
        table = Table(title="fastfn local OCI cloud", show_header=False)
        for name, url in urls.items():
            table.add_row(name, url)
        table.add_row("state", str(state_dir))
        console.print(table)
        console.print(f"point the oci CLI/SDK at it: [bold]eval \"$(fastfn cloud config "
                      f"--state-dir {state_dir})\"[/]", highlight=False)

    state_dir.mkdir(parents=True, exist_ok=True)
    _print_function_problems()
    from fastfn.localcloud.oci.core.store import StateDamaged

    try:
        serve(state_dir, port=port, proxy_port=proxy_port, tenancy_file=tenancy,
              on_ready=ready)
    except StateDamaged as exc:
        raise fail(str(exc)) from None


def _print_function_problems() -> None:
    """Functions' warning and error lines, as they happen (all lines: `fastfn logs`)."""
    import logging

    from fastfn.cli.common import err_console

    class Printer(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            from rich.markup import escape

            style = "yellow" if record.levelno < logging.ERROR else "bold red"
            fn = record.name.removeprefix("fastfn.fn.")
            err_console.print(f"[{style}]{escape(fn)}: {escape(record.getMessage())}[/]",
                              highlight=False, soft_wrap=True)

    functions = logging.getLogger("fastfn.fn")
    functions.addHandler(Printer(logging.WARNING))
    functions.propagate = False


@cloud.command()
def config(
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
) -> None:
    """Print the settings (config file, proxy, CA bundle) that point the oci SDK/CLI here."""
    from fastfn.localcloud.oci import config_text

    state_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(config_text(state_dir), nl=False)


@cloud.command()
def events(
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
    state: str = typer.Option(None, help="PENDING, DELIVERED or FAILED"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List event deliveries to functions (failed ones after their retries)."""
    import json

    from fastfn.localcloud.oci import event_deliveries

    if state is not None and state.upper() not in ("PENDING", "DELIVERED", "FAILED"):
        raise fail(f"--state must be PENDING, DELIVERED or FAILED, got {state!r}")
    rows = event_deliveries(state_dir, state.upper() if state else None)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    console.print(deliveries_table(rows))


def deliveries_table(rows: list[dict[str, Any]]) -> Table:
    """state, event, object, tries, outer/app status, error category and message (80
    columns: long values wrap in their column)."""
    table = Table(title="event deliveries", padding=(0, 0), show_lines=True)
    for column, width in (("state", 9), ("event", 12), ("object", 18), ("tries", 5),
                          ("status", 7), ("category", 14), ("error", None)):
        table.add_column(column, min_width=min(width or 10, len(column)), max_width=width,
                         overflow="fold")
    for row in rows:
        name = row.get("resourceName") or ((row.get("event") or {}).get("data") or {}).get(
            "resourceName") or ""
        event = str(row.get("eventType") or "").rsplit(".", 1)[-1]
        outer, app = row.get("outerStatus"), row.get("appStatus")
        status = "/".join(str(s) for s in (outer, app) if s is not None)
        table.add_row(str(row.get("state", "")), event, str(name),
                      str(row.get("attempts", "")), status,
                      str(row.get("errorCategory") or ""), str(row.get("lastError") or ""))
    return table
