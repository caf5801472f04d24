"""`fastfn cloud`: the local OCI cloud (Object Storage, Vault, Functions, Events, Identity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fastfn.cli.common import console, fail, styled

cloud = typer.Typer(help="The local OCI cloud that the oci SDK and CLI talk to, and (--aws) "
                    "the embedded AWS that boto3 and the aws CLI talk to.",
                    no_args_is_help=True, rich_markup_mode=None)

DEFAULT_STATE = Path(".fastfn") / "cloud"
STATE_HELP = "state directory (survives restarts)"


@cloud.command()
def up(
    state_dir: Path = typer.Option(DEFAULT_STATE, "--state-dir", help=STATE_HELP),
    port: int = typer.Option(None, help="endpoint port on 127.0.0.1 (0: any free; default "
                             "10000, or 4566 with --aws)"),
    proxy_port: int = typer.Option(10001, help="HTTPS proxy port for OCI host names"),
    tenancy: Path = typer.Option(None, help="tenancy YAML (compartments, policies, "
                                 "networks); its policies are then enforced"),
    record: bool = typer.Option(False, "--record", help="record each principal's operations "
                                "for `fastfn iam suggest`"),
    aws: bool = typer.Option(False, "--aws", help="serve the embedded AWS instead (moto + "
                             "the local Lambda)"),
) -> None:
    """Serve the local OCI cloud (or, with --aws, the embedded AWS) until Ctrl-C."""
    if aws:
        _serve_aws(state_dir, 4566 if port is None else port)
        return
    from fastfn.localcloud.oci import serve

    port = 10000 if port is None else port

    if tenancy is not None and not tenancy.is_file():
        raise fail(f"--tenancy: {tenancy} is not a file")

    def ready(urls: dict[str, str]) -> None:
        from rich.table import Table

        table = Table(title="fastfn local OCI cloud", show_header=False)
        for name, url in urls.items():
            table.add_row(name, url)
        table.add_row("state", str(state_dir))
        console.print(table)
        console.print(styled("point the oci CLI/SDK at it: ",
                             f'eval "$(fastfn cloud config --state-dir {state_dir})"', "bold"),
                      highlight=False)

    state_dir.mkdir(parents=True, exist_ok=True)
    _print_function_problems()
    from fastfn.localcloud.oci.core.store import StateDamaged
    from fastfn.localcloud.oci.tenancy import TenancyFileError

    try:
        serve(state_dir, port=port, proxy_port=proxy_port, tenancy_file=tenancy,
              on_ready=ready, record_operations=record)
    except (StateDamaged, TenancyFileError) as exc:
        raise fail(str(exc)) from None


def _serve_aws(state_dir: Path, port: int) -> None:
    import contextlib
    import signal
    import threading

    from fastfn.localcloud.aws.embedded import EmbeddedAWS
    from fastfn.localcloud.aws.moto import LocalAWSError

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        aws = EmbeddedAWS(state_dir, port=port).start()
    except (LocalAWSError, OSError) as exc:
        raise fail(f"the embedded AWS did not start: {exc}") from None
    try:
        from rich.table import Table

        table = Table(title="fastfn embedded AWS", show_header=False)
        table.add_row("endpoint", aws.endpoint_url)
        table.add_row("region", aws.region)
        table.add_row("function logs", str(aws.log_dir))
        console.print(table)
        console.print(styled("point boto3/the aws CLI at it: ",
                             f'eval "$(fastfn cloud config --aws --state-dir {state_dir})"',
                             "bold"), highlight=False)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        aws.stop()


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
    aws: bool = typer.Option(False, "--aws", help="the embedded AWS's AWS_* variables"),
) -> None:
    """Print the settings (config file, proxy, CA bundle) that point the oci SDK/CLI here,
    or with --aws the AWS_* variables that point boto3 and the aws CLI at the embedded AWS."""
    if aws:
        import shlex

        from fastfn.localcloud.aws.embedded import running

        found = running(state_dir)
        if found is None:
            raise fail(f"no embedded AWS serves {state_dir}: start `fastfn cloud up --aws "
                       f"--state-dir {state_dir}`")
        for name, value in found.env().items():
            typer.echo(f"export {name}={shlex.quote(value)}")
        return
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


def deliveries_table(rows: list[dict[str, Any]]) -> Any:
    """state, event, object, call id (its last 8 characters, as `fastfn logs` shows
    them), tries, outer/app status, error category and message (80 columns: long values
    wrap in their column, OCIDs are shortened; `--json` has them whole)."""
    from rich.table import Table
    from rich.text import Text

    from fastfn.cli.ids import shorten_ocids

    table = Table(title="event deliveries", padding=(0, 0), show_lines=True)
    for column, width in (("state", 9), ("event", 12), ("object", 14), ("call", 8),
                          ("tries", 5), ("status", 7), ("category", 11), ("error", None)):
        table.add_column(column, min_width=min(width or 10, len(column)), max_width=width,
                         overflow="fold")
    for row in rows:
        name = row.get("resourceName") or ((row.get("event") or {}).get("data") or {}).get(
            "resourceName") or ""
        event = str(row.get("eventType") or "").rsplit(".", 1)[-1]
        outer, app = row.get("outerStatus"), row.get("appStatus")
        status = "/".join(str(s) for s in (outer, app) if s is not None)
        call = str(row.get("callId") or "-")[-8:]
        cells = (str(row.get("state", "")), event, str(name), call,
                 str(row.get("attempts", "")), status, str(row.get("errorCategory") or ""),
                 str(row.get("lastError") or ""))
        # plain text (an error message may hold square brackets), OCIDs shortened
        table.add_row(*(Text(shorten_ocids(cell)) for cell in cells))
    return table
