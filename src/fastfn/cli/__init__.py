"""The `fastfn` command line (typer + rich). `fastfn serve` is dispatched before this
package is imported (see fastfn._entry), so nothing here slows a function's cold start."""

from __future__ import annotations

import typer

from fastfn.cli import build, cloud, deploy, dev, doctor, iam, invoke, logs, scaffold

app = typer.Typer(
    name="fastfn",
    help="Run one FastAPI/ASGI app on OCI Functions and AWS Lambda (local clouds and "
         "deploy) and on VMs (fastfn serve --http).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors (click's formatter): typer's rich help imports rich,
    # its markdown parser and tables, several times the cost of typer itself, and every
    # `--help` would pay it. Sub-apps (cloud, ci, iam) say the same.
    rich_markup_mode=None,
)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def serve(
    app_spec: str = typer.Argument(None, metavar="MODULE:APP", help="the ASGI app"),
) -> None:
    """Serve an ASGI app: under the Fn http-stream contract (a container's entrypoint), or
    with --http over TCP on PORT for VMs. Options: --http, --app-dir DIR, --log-level L."""
    from fastfn.runtime.serve import main

    raise typer.Exit(main([app_spec] if app_spec else []))


app.command()(dev.dev)
app.command()(invoke.invoke)
app.command()(scaffold.init)
app.command()(scaffold.dockerfile)
app.add_typer(cloud.cloud, name="cloud")
app.command()(logs.logs)
app.command()(build.build)
app.command()(deploy.plan)
app.command()(deploy.deploy)
app.command()(deploy.drift)
app.command()(deploy.rollback)
app.command()(deploy.promote)
app.command()(deploy.destroy)
app.add_typer(deploy.ci, name="ci")
app.add_typer(iam.iam, name="iam")
app.command()(doctor.doctor)
