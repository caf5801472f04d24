"""`fastfn dev`: run a service on the local Fn platform behind the local API gateway."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fastfn.cli.common import DEV_STATE, console, fail, load_service, local_config

if TYPE_CHECKING:
    from fastfn.localcloud.fn.gateway import Gateway


def _print_log(fn_name: str, line: str) -> None:
    from rich.text import Text

    console.print(Text.assemble((fn_name, "dim"), " ", line), highlight=False, soft_wrap=True)


def dev(
    service_dir: Path = typer.Argument(Path("."), help="service directory (with fastfn.yaml)"),
    port: int = typer.Option(8080, help="gateway port on 127.0.0.1 (0 picks a free one)"),
    stage: str = typer.Option(None, help="stage whose overrides apply"),
    instances: int = typer.Option(2, help="warm instances at most, one call at a time each"),
    reload: bool = typer.Option(True, help="restart instances when a .py file changes"),
    config: list[str] = typer.Option(
        [], "--config", "-c",
        help="KEY=VALUE added to the function's config for this run (repeatable); "
        "never written to disk"),
    target: str = typer.Option(None, help="oci or aws (default: the manifest's target)"),
) -> None:
    """Run a service locally behind an API gateway (aws: as a local Lambda behind a
    function URL) and print its URL."""
    from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute
    from fastfn.localcloud.fn.platform import FnPlatform
    from fastfn.localcloud.fn.service import function_spec

    manifest, fn = load_service(service_dir, stage)
    if target not in (None, "oci", "aws"):
        raise fail(f"--target must be oci or aws, got {target!r}")
    if (target or manifest.target) == "aws":
        from fastfn.cli import aws_local

        aws_local.dev(service_dir, manifest, stage, port, reload, config)
        return
    extra = local_config(fn, config)
    spec = function_spec(service_dir, fn, app_name=f"{fn.service}-dev", extra_config=extra)
    platform = FnPlatform(max_instances=instances, log_sink=_print_log)
    gateway = Gateway(platform, [GatewayRoute(fn.path_prefix, spec)])
    import asyncio

    # uvicorn handles Ctrl-C (graceful shutdown), then re-raises it: that is a clean exit.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(service_dir, gateway, port, fn.path_prefix, spec.fn_id, reload))


def _source_stamp(service_dir: Path) -> tuple[float, int]:
    stamps = [p.stat().st_mtime for p in service_dir.rglob("*.py") if ".venv" not in p.parts]
    return max(stamps, default=0.0), len(stamps)


async def _reload_on_change(service_dir: Path, gateway: Gateway, fn_id: str) -> None:
    """Poll, not inotify: edits land in subdirectories too, and a second is fast enough."""
    import asyncio

    last = _source_stamp(service_dir)
    manifest_stamp = _manifest_stamp(service_dir)
    while True:
        await asyncio.sleep(1.0)
        current = _source_stamp(service_dir)
        if current != last:
            last = current
            await gateway.platform.stop_function(fn_id)
            console.print("[yellow]source changed: instances restarted[/]")
        if _manifest_stamp(service_dir) != manifest_stamp:
            manifest_stamp = _manifest_stamp(service_dir)
            console.print("[yellow]the manifest changed: restart fastfn dev to apply it[/]")


def _manifest_stamp(service_dir: Path) -> float:
    paths = [service_dir / name for name in ("fastfn.yaml", "fastfn.yml", "func.yaml")]
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


async def _run(service_dir: Path, gateway: Gateway, port: int, prefix: str, fn_id: str,
               reload: bool) -> None:
    import asyncio

    from rich.table import Table

    from fastfn.localcloud.fn.gateway import GatewayServer

    server = GatewayServer(gateway, port=port)
    await server.start()
    base = server.url + prefix
    invoke_url = f"{server.url}/20181201/functions/{fn_id}/actions/invoke"
    table = Table(title="fastfn dev", show_header=False)
    table.add_row("gateway", base + "/")
    table.add_row("direct invoke", invoke_url)
    table.add_row("function", gateway.routes[0].spec.fn_name)
    console.print(table)
    state_file = service_dir / DEV_STATE
    state_file.parent.mkdir(exist_ok=True)
    state_file.write_text(json.dumps({"url": server.url, "gateway": base, "fn_id": fn_id,
                                      "pid": os.getpid()}))
    console.print(f"try: curl -i {base}/", highlight=False)
    watcher = None
    if reload:
        watcher = asyncio.create_task(_reload_on_change(service_dir, gateway, fn_id))
    try:
        await server.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()
