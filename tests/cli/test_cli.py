"""The fastfn command as a user runs it: real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

FASTFN = [sys.executable, "-m", "fastfn"]


def run(*args: str, cwd: Path | None = None, env: dict | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FASTFN, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    result = run("init", "shop", "--dir", str(root / "shop"))
    assert result.returncode == 0, result.stderr
    return root / "shop"


def test_init_scaffolds_a_service(service: Path):
    assert sorted(p.name for p in service.iterdir()) == [
        ".dockerignore", "Dockerfile", "fastfn.yaml", "main.py", "requirements.txt"]
    assert 'CMD ["fastfn", "serve", "main:app"]' in (service / "Dockerfile").read_text()


def test_init_refuses_a_non_empty_directory(service: Path):
    result = run("init", "shop", "--dir", str(service))
    assert result.returncode == 1
    assert "not empty" in result.stderr


def test_direct_invoke_reaches_the_default_route(service: Path):
    result = run("invoke", str(service), "--body", '{"name": "pen"}',
                 "-H", "Content-Type: application/json", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == 201 and out["outer_status"] == 200
    assert out["body"] == {"name": "pen", "description": None}


def test_gateway_style_invoke_with_method_and_path(service: Path, tmp_path: Path):
    body = tmp_path / "body.json"
    body.write_text('{"description": "no name"}')
    result = run("invoke", str(service), "-X", "POST", "--path", "/items",
                 "-H", "Content-Type: application/json", "--body", f"@{body}", "--json")
    out = json.loads(result.stdout)
    assert out["status"] == 422
    assert out["body"]["detail"][0]["loc"] == ["body", "name"]
    missing = run("invoke", str(service), "-X", "GET", "--path", "/nope")
    assert missing.returncode == 0
    assert missing.stdout.startswith("HTTP 404")


def test_bad_header_and_bad_manifest_are_clear_errors(service: Path, tmp_path: Path):
    result = run("invoke", str(service), "-H", "no colon here")
    assert result.returncode == 1
    assert "--header must look like 'Name: value'" in result.stderr
    (tmp_path / "fastfn.yaml").write_text("name: x\nmemory: 100\n")
    bad = run("invoke", str(tmp_path))
    assert bad.returncode == 1
    assert "fastfn.yaml: memory: must be one of" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_serve_outside_fn_explains_itself(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "FN_LISTENER"}
    result = run("serve", "main:app", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "FN_LISTENER is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_dockerfile_command_prints_the_shape_platform(service: Path):
    result = run("dockerfile", str(service))
    assert result.returncode == 0
    assert "FROM --platform=linux/amd64" in result.stdout


def test_dev_serves_the_gateway_and_invoke_finds_it(service: Path):
    proc = subprocess.Popen([*FASTFN, "dev", str(service), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state = service / ".fastfn" / "dev.json"
    try:
        deadline = time.monotonic() + 30
        while not state.exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "fastfn dev did not start"
            time.sleep(0.1)
        info = json.loads(state.read_text())
        base = info["gateway"]
        created = httpx.post(f"{base}/items", json={"name": "cup"}, timeout=30)
        assert created.status_code == 201
        assert httpx.post(f"{base}/items", json={}, timeout=30).status_code == 422
        assert httpx.get(f"{base}/missing", timeout=30).status_code == 404
        direct = run("invoke", str(service), "--body", '{"name": "via dev"}',
                     "-H", "Content-Type: application/json", "--json")
        assert json.loads(direct.stdout)["status"] == 201
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    # The direct invoke went through the running dev server: its function logged the call.
    assert '"path": "/items", "status": 201' in output
    assert output.count('"status": 201') >= 2
    assert not state.exists()


def test_dev_restarts_instances_when_source_changes(tmp_path: Path):
    service = tmp_path / "svc"
    assert run("init", "svc", "--dir", str(service)).returncode == 0
    proc = subprocess.Popen([*FASTFN, "dev", str(service), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state = service / ".fastfn" / "dev.json"
    try:
        deadline = time.monotonic() + 30
        while not state.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        base = json.loads(state.read_text())["gateway"]
        assert httpx.get(f"{base}/health", timeout=30).json() == {"status": "ok"}
        main = service / "main.py"
        main.write_text(main.read_text().replace('{"status": "ok"}', '{"status": "edited"}'))
        deadline = time.monotonic() + 20
        while httpx.get(f"{base}/health", timeout=30).json() != {"status": "edited"}:
            assert time.monotonic() < deadline, "the edit was not picked up"
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert "source changed" in output


def test_serve_with_a_missing_socket_directory_explains_itself(tmp_path: Path):
    (tmp_path / "main.py").write_text("async def app(scope, receive, send):\n    pass\n")
    env = {**os.environ, "FN_LISTENER": f"unix:{tmp_path / 'missing' / 'lsnr.sock'}"}
    result = run("serve", "main:app", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_app_module_that_fails_to_import_is_one_json_error_line(tmp_path: Path):
    (tmp_path / "main.py").write_text("import not_installed_dependency\n")
    (tmp_path / "s").mkdir()
    env = {**os.environ, "FN_LISTENER": f"unix:{tmp_path / 's' / 'lsnr.sock'}"}
    result = run("serve", "main:app", cwd=tmp_path, env=env)
    assert result.returncode == 3
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["level"] == "error" and "not_installed_dependency" in record["exc"]


def test_init_takes_a_name_and_a_directory_or_a_path(tmp_path: Path):
    assert run("init", "shop", str(tmp_path / "a")).returncode == 0
    assert "name: shop\n" in (tmp_path / "a" / "fastfn.yaml").read_text()
    assert run("init", str(tmp_path / "services" / "cart")).returncode == 0
    assert "name: cart\n" in (tmp_path / "services" / "cart" / "fastfn.yaml").read_text()


def test_errors_are_printed_as_written_not_as_markup(tmp_path: Path):
    result = run("init", "My_Svc", str(tmp_path / "bad"))
    assert result.returncode == 1 and not (tmp_path / "bad").exists()
    assert "service name 'My_Svc' must be lowercase" in result.stderr
    # square brackets in a message survive (rich markup would eat them)
    manifest = tmp_path / "m"
    manifest.mkdir()
    (manifest / "fastfn.yaml").write_text("name: Bad_Name\n")
    result = run("plan", str(manifest))
    assert "^[a-z][a-z0-9-]{0,63}$" in result.stderr, result.stderr


def test_the_cli_starts_without_importing_heavy_packages():
    # What `fastfn --help` and every command pay before doing anything: typer only. Each
    # command imports what it uses when it runs (rich, pydantic, the SDKs, the cloud).
    # `--help` itself is printed by click's plain formatter: typer's rich one imports rich
    # and its markdown parser, several times typer's own cost.
    heavy = ("rich", "pydantic", "httpx", "oci", "boto3", "yaml", "starlette", "asyncio",
             "fastfn.manifest", "fastfn.localcloud", "fastfn.deploy", "fastfn.doctor")
    code = ("import contextlib, io, sys\nfrom fastfn.cli import app\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out, "
            "contextlib.suppress(SystemExit):\n    app(['--help'], prog_name='fastfn')\n"
            "assert 'Usage: fastfn' in out.getvalue(), out.getvalue()\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
