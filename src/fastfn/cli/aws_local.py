"""`fastfn dev` and `fastfn invoke` for the aws target: the service as a local Lambda
(a real awslambdaric process, the manifest's memory, timeout and environment) behind a
function URL on localhost; the same server answers Lambda's Invoke API path
(`POST /2015-03-31/functions/<name>/invocations`), so `fastfn invoke` and
`aws lambda invoke --endpoint-url <url>` reach the running function directly."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fastfn.cli.common import (
    DEV_STATE,
    console,
    err_console,
    fail,
    local_config,
    styled,
)

if TYPE_CHECKING:
    from fastfn.localcloud.aws.lambda_ import LocalFunction
    from fastfn.manifest import Manifest, ResolvedService


HANDLER = "fastfn.runtime.aws.handler.handler"


def _resolve(manifest: Manifest, stage: str | None) -> tuple[ResolvedService, object]:
    from fastfn.manifest import ManifestError

    try:
        return manifest.common(stage), manifest.section("aws", stage)
    except ManifestError as exc:
        raise fail(str(exc)) from None


def local_environment(service: ResolvedService, assignments: list[str]) -> dict[str, str]:
    """The function's environment for a local run: the manifest's (secret references
    only), FASTFN_APP, the host variables `env:` references name, then --config pairs."""
    env = service.function_config() | {"FASTFN_APP": service.app}
    env.update(local_config(service, assignments))
    return env


def local_function(service_dir: Path, manifest: Manifest, stage: str | None,
                   assignments: list[str], log_dir: str | None = None) -> LocalFunction:
    from fastfn.localcloud.aws.lambda_ import LocalFunction

    service, section = _resolve(manifest, stage)
    return LocalFunction(service.name, HANDLER, str(service_dir),
                         environment=local_environment(service, assignments),
                         memory_mb=int(section.memory),  # type: ignore[attr-defined]
                         timeout_s=float(section.timeout),  # type: ignore[attr-defined]
                         log_dir=log_dir)


def _source_stamp(service_dir: Path) -> tuple[float, int]:
    stamps = [p.stat().st_mtime for p in service_dir.rglob("*.py") if ".venv" not in p.parts]
    return max(stamps, default=0.0), len(stamps)


def dev(service_dir: Path, manifest: Manifest, stage: str | None, port: int, reload: bool,
        assignments: list[str]) -> None:
    from rich.table import Table

    from fastfn.localcloud.aws.function_url import FunctionURL

    log_dir = service_dir / ".fastfn" / "lambda-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    fn = local_function(service_dir, manifest, stage, assignments, str(log_dir))
    url = FunctionURL(fn, port=port, invoke_api=True)
    try:
        url.start()
    except OSError as exc:
        raise fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    table = Table(title="fastfn dev (aws lambda)", show_header=False)
    table.add_row("function URL", url.url + "/")
    table.add_row("direct invoke", f"{url.url}/2015-03-31/functions/{fn.name}/invocations")
    table.add_row("function", fn.name)
    table.add_row("log", fn.log_path)
    console.print(table)
    state_file = service_dir / DEV_STATE
    state_file.parent.mkdir(exist_ok=True)
    state_file.write_text(json.dumps({"url": url.url, "target": "aws", "function": fn.name,
                                      "pid": os.getpid()}))
    console.print(f"try: curl -i {url.url}/", highlight=False)
    stop = threading.Event()
    try:
        last = _source_stamp(service_dir)
        while not stop.wait(1.0):
            if reload and _source_stamp(service_dir) != last:
                last = _source_stamp(service_dir)
                fn.close()  # the next invoke starts a new environment (init runs again)
                console.print("[yellow]source changed: the environment restarts on the next "
                              "invoke[/]")
    except KeyboardInterrupt:
        pass
    finally:
        url.close()
        fn.close()
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()


def _running_dev(service_dir: Path) -> dict | None:
    import httpx

    state = service_dir / DEV_STATE
    try:
        info = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    if info.get("target") != "aws":
        return None
    # Any HTTP request would invoke the function: a TCP connect is the liveness check.
    parts = httpx.URL(str(info.get("url", ""))).copy_with()
    try:
        with socket.create_connection((parts.host, parts.port or 80), timeout=1.0):
            return info
    except OSError:
        return None


def invoke(service_dir: Path, manifest: Manifest, stage: str | None, *, http_call: bool,
           method: str, path: str, headers: list[tuple[str, str]], body: bytes,
           assignments: list[str], url: str | None, as_json: bool, logs: bool) -> None:
    """One invoke: a v2 event (--method/--path) or the body as the event JSON."""
    import httpx

    from fastfn.localcloud.aws.function_url import build_event

    service, _ = _resolve(manifest, stage)
    if http_call:
        event: object = build_event(method, service.path_prefix + path, headers, body,
                                    "localhost", "127.0.0.1")
        payload = json.dumps(event).encode()
    else:
        payload = body or b"{}"
        try:
            json.loads(payload)
        except ValueError:
            raise fail("--body: a direct Lambda invoke's event must be JSON") from None
    info = {"url": url} if url else _running_dev(service_dir)
    if info is not None:
        if assignments:
            err_console.print("note: --config is ignored: the function runs in the fastfn dev "
                              f"server at {info['url']}, with that server's config")
        name = info.get("function", service.name)
        try:
            response = httpx.post(f"{info['url']}/2015-03-31/functions/{name}/invocations",
                                  content=payload, timeout=900)
        except httpx.HTTPError as exc:
            raise fail(f"cannot reach {info['url']}: {exc}") from None
        result_payload, error = response.content, response.headers.get("x-amz-function-error")
        log_path = None
    else:
        with local_function(service_dir, manifest, stage, assignments) as fn:
            result = fn.invoke(payload)
        result_payload, error, log_path = result.payload, result.function_error, fn.log_path
    if log_path and (logs or error):
        with contextlib.suppress(OSError):
            err_console.print(Path(log_path).read_text(), markup=False, highlight=False,
                              style="dim", soft_wrap=True)
    _print(result_payload, error, http_call, as_json)
    if error:
        raise typer.Exit(1)


def _print(payload: bytes, error: str | None, http_call: bool, as_json: bool) -> None:
    from rich.markup import escape

    from fastfn.localcloud.aws.function_url import response_parts

    if http_call and not error:
        status, headers, data = response_parts(payload)
        text = data.decode("utf-8", "replace")
        if as_json:
            try:
                body: object = json.loads(data)
            except ValueError:
                body = text
            sys.stdout.write(json.dumps({"status": status, "headers": headers,
                                         "body": body}, indent=2) + "\n")
            return
        console.print(f"HTTP {status}", style="bold", highlight=False)
        for name, value in headers:
            console.print(styled(f"[cyan]{escape(name)}[/]: ", value), highlight=False)
        console.print()
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
        return
    text = payload.decode("utf-8", "replace")
    if as_json:
        try:
            result: object = json.loads(payload)
        except ValueError:
            result = text
        sys.stdout.write(json.dumps({"function_error": error, "payload": result},
                                    indent=2) + "\n")
        return
    if error:
        console.print(f"FunctionError: {error}", style="bold red", highlight=False)
    sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))


def wait_for_dev(service_dir: Path, timeout_s: float = 30.0) -> dict:
    """The running dev server's state (for tests and scripts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = _running_dev(service_dir)
        if info is not None:
            return info
        time.sleep(0.1)
    raise TimeoutError(f"no fastfn dev for {service_dir}")
