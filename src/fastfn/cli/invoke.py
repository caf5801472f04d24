"""`fastfn invoke`: call a function directly (its default route) or as a gateway request.

It talks to a running `fastfn dev` for the service when there is one (or to --url);
otherwise it starts the function on an in-process local platform for this one call.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fastfn.cli.common import (
    DEV_STATE,
    console,
    err_console,
    fail,
    load_service,
    local_config,
)

if TYPE_CHECKING:
    import httpx

    from fastfn.manifest import ResolvedFunction


def _read_body(body: str | None) -> bytes:
    if body is None:
        return b""
    if body == "-":
        return sys.stdin.buffer.read()
    if body.startswith("@"):
        path = Path(body[1:])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise fail(f"--body: cannot read {path}: {exc.strerror}") from None
    return body.encode()


def _parse_headers(headers: list[str]) -> list[tuple[str, str]]:
    parsed = []
    for item in headers:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise fail(f"--header must look like 'Name: value', got {item!r}")
        parsed.append((name.strip(), value.strip()))
    return parsed


def _dev_server(service_dir: Path) -> dict | None:
    import httpx

    state = service_dir / DEV_STATE
    if not state.is_file():
        return None
    info = json.loads(state.read_text())
    try:
        httpx.get(info["url"] + "/", timeout=1.0)
    except httpx.HTTPError:
        return None
    return info


def invoke(
    service_dir: Path = typer.Argument(Path("."), help="service directory (with fastfn.yaml)"),
    method: str = typer.Option(None, "--method", "-X", help="HTTP method (gateway request)"),
    path: str = typer.Option(None, "--path", help="request path, e.g. /items?limit=5"),
    header: list[str] = typer.Option([], "--header", "-H", help="'Name: value', repeatable"),
    body: str = typer.Option(None, "--body", "-d", help="body text, @file, or - for stdin"),
    intent: str = typer.Option("httprequest", help="Fn-Intent of a direct invoke"),
    stage: str = typer.Option(None, help="stage whose overrides apply"),
    config: list[str] = typer.Option(
        [], "--config", "-c",
        help="KEY=VALUE added to the function's config for this run (repeatable); "
        "never written to disk"),
    url: str = typer.Option(None, help="a running fastfn dev server (default: autodetect)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON object"),
    logs: bool = typer.Option(False, "--logs", help="print the function's log lines"),
    target: str = typer.Option(None, help="oci or aws (default: the manifest's target)"),
) -> None:
    """Invoke a function: direct (its default route; on aws the body is the event JSON),
    or with --method/--path as a gateway (aws: function URL) request."""
    headers = _parse_headers(header)
    payload = _read_body(body)
    gateway_call = method is not None or path is not None
    target_method = (method or "GET").upper()
    target_path = path or "/"
    if not target_path.startswith("/"):
        raise fail(f"--path must start with '/', got {target_path!r}")

    manifest, fn = load_service(service_dir, stage)
    if target not in (None, "oci", "aws"):
        raise fail(f"--target must be oci or aws, got {target!r}")
    if (target or manifest.target) == "aws":
        from fastfn.cli import aws_local

        aws_local.invoke(service_dir, manifest, stage, http_call=gateway_call,
                         method=target_method, path=target_path, headers=headers,
                         body=payload, assignments=config, url=url, as_json=as_json,
                         logs=logs)
        return
    info = {"url": url} if url else _dev_server(service_dir)
    if gateway_call:
        call = Call(target_method, fn.path_prefix + target_path, headers, payload)
    else:
        call = Call("POST", "", [*headers, ("Fn-Intent", intent)], payload, direct=True)
    if info is not None:
        if config:
            err_console.print("note: --config is ignored: the function runs in the fastfn dev "
                              f"server at {info['url']}, with that server's config")
        response = _over_http(info["url"], info.get("fn_id", fn.name), fn.timeout, call)
    else:
        import asyncio

        log_lines: list[str] = []
        extra = local_config(fn, config)
        response = asyncio.run(_in_process(service_dir, fn, call, log_lines, extra))
        if logs or response.status_code >= 500:
            for line in log_lines:
                err_console.print(line, markup=False, highlight=False, style="dim",
                                  soft_wrap=True)
    _print(response, as_json)
    if response.status_code >= 500:
        raise typer.Exit(1)


@dataclass
class Call:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    direct: bool = False

    def send(self, client: httpx.Client, fn_id: str) -> httpx.Response:
        path = f"/20181201/functions/{fn_id}/actions/invoke" if self.direct else self.path
        return client.request(self.method, path, headers=self.headers, content=self.body)

    async def asend(self, client: httpx.AsyncClient, fn_id: str) -> httpx.Response:
        path = f"/20181201/functions/{fn_id}/actions/invoke" if self.direct else self.path
        return await client.request(self.method, path, headers=self.headers, content=self.body)


def _over_http(base_url: str, fn_id: str, timeout: int, call: Call) -> httpx.Response:
    import httpx

    with httpx.Client(base_url=base_url, timeout=timeout + 10) as client:
        try:
            return call.send(client, fn_id)
        except httpx.HTTPError as exc:
            raise fail(f"cannot reach {base_url}: {exc}") from None


async def _in_process(service_dir: Path, fn: ResolvedFunction, call: Call,
                      log_lines: list[str], extra_config: dict[str, str]) -> httpx.Response:
    import httpx

    from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute
    from fastfn.localcloud.fn.platform import FnPlatform
    from fastfn.localcloud.fn.service import function_spec

    spec = function_spec(service_dir, fn, app_name=f"{fn.service}-local",
                         extra_config=extra_config)
    platform = FnPlatform(max_instances=1,
                          log_sink=lambda name, line: log_lines.append(f"{name} {line}"))
    gateway = Gateway(platform, [GatewayRoute(fn.path_prefix, spec)])
    transport = httpx.ASGITransport(app=gateway)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost",
                                     timeout=fn.timeout + 10) as client:
            return await call.asend(client, spec.fn_id)
    finally:
        await platform.aclose()


def _print(response: httpx.Response, as_json: bool) -> None:
    app_status = response.headers.get("fn-http-status")
    if as_json:
        try:
            body: object = response.json()
        except ValueError:
            body = response.text
        out = {
            "status": int(app_status) if app_status else response.status_code,
            "outer_status": response.status_code,
            "headers": [[k, v] for k, v in response.headers.multi_items()],
            "body": body,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    line = f"HTTP {app_status or response.status_code}"
    if app_status:
        line += f" (Fn outer status {response.status_code})"
    console.print(line, style="bold", highlight=False)
    for name, value in response.headers.multi_items():
        console.print(f"[cyan]{name}[/]: {value}", highlight=False)
    console.print()
    sys.stdout.write(response.text + ("\n" if not response.text.endswith("\n") else ""))
