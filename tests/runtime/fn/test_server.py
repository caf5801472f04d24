"""The Fn runtime in a real process, called over its real unix socket as the agent calls it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path

import pytest

from fastfn.localcloud.fn.platform import FunctionInstance

from support.fn import deadline, gateway_headers, json_body, probe_spec, started_instance

OUTER = {200, 502, 504}


async def test_socket_is_published_by_relative_symlink_with_mode_0666(probe: FunctionInstance):
    lsnr = probe.socket_dir / "lsnr.sock"
    assert lsnr.is_symlink()
    assert os.readlink(lsnr) == "phonylsnr.sock"
    assert stat.S_ISSOCK((probe.socket_dir / "phonylsnr.sock").lstat().st_mode)
    assert probe.socket_mode_at_create == 0o666
    assert probe.refused_dials == 0


async def test_gateway_call_maps_method_url_query_and_prefix(probe: FunctionInstance):
    response = await probe.call(
        gateway_headers("PUT", "/v1/echo?x=1&y=two", ("Fn-Http-H-Accept", "text/plain"),
                        ("Content-Type", "text/plain")),
        b"hello",
    )
    assert response.status == 200
    assert response.header("Fn-Http-Status") == "200"
    seen = json_body(response)
    assert seen["method"] == "PUT"
    assert seen["root_path"] == "/v1"
    assert seen["scope_path"] == "/v1/echo"
    assert seen["query"] == "x=1&y=two"
    assert seen["body"] == "hello"


async def test_absolute_request_url_as_oss_fn_sends_it(probe: FunctionInstance):
    response = await probe.call(
        gateway_headers("GET", "http://api.example.com:8080/v1/echo?q=%2F&z=3"), b"")
    seen = json_body(response)
    assert seen["scope_path"] == "/v1/echo"
    assert seen["query"] == "q=%2F&z=3"
    headers = dict(seen["headers"])
    assert headers["host"] == "api.example.com:8080"


async def test_app_sees_client_headers_not_agent_headers(probe: FunctionInstance):
    response = await probe.call(
        gateway_headers(
            "GET", "/v1/echo",
            ("Fn-Http-H-User-Agent", "curl/8.0"),
            ("Fn-Http-H-Host", "api.example.com"),
            ("Fn-Http-H-X-Trace", "t1"),
            ("Opc-Request-Id", "opc-123"),
            ("Oci-Subject-Id", "ocid1.user.oc1..x"),
            ("X-B3-TraceId", "abc"),
        ),
        b"",
    )
    seen = json_body(response)
    names = [name for name, _ in seen["headers"]]
    headers = dict(seen["headers"])
    assert headers["user-agent"] == "curl/8.0"
    assert headers["host"] == "api.example.com"
    assert headers["x-trace"] == "t1"
    assert len(names) == len(set(names)), f"duplicated headers: {names}"
    leaked = [n for n in names if n.startswith(("fn-", "opc-", "oci-", "x-b3-"))]
    assert leaked == []
    assert "lua-resty-http" not in json.dumps(seen["headers"])
    assert "localhost" not in headers.get("host", "")
    ctx = seen["context"]
    assert ctx["call_id"] == "call-1"
    assert ctx["request_id"] == "opc-123"
    assert ctx["intent"] == "httprequest"
    assert ctx["invoke_type"] == "sync"
    assert ctx["fn_id"] == "ocid1.fnfunc.oc1.test.probe"
    assert ctx["gateway"] is True
    assert ctx["deadline"] is not None
    assert seen["same_context_in_scope"] is True
    assert seen["state"] == "yes"


async def test_context_reaches_sync_endpoints(probe: FunctionInstance):
    response = await probe.call(
        gateway_headers("GET", "/v1/sync-context", call_id="sync-call-7"), b"")
    assert json_body(response) == {"call_id": "sync-call-7"}


@pytest.mark.parametrize("code", [201, 204, 404, 409, 422, 500, 502, 503, 504])
async def test_app_status_travels_in_fn_http_status(probe: FunctionInstance, code: int):
    response = await probe.call(gateway_headers("GET", f"/v1/status/{code}"), b"")
    assert response.status == 200
    assert response.header("Fn-Http-Status") == str(code)


async def test_validation_error_is_422_inside_outer_200(probe: FunctionInstance):
    response = await probe.call(
        gateway_headers("POST", "/v1/items", ("Content-Type", "application/json")),
        b'{"name": ""}',
    )
    assert response.status == 200
    assert response.header("Fn-Http-Status") == "422"
    assert "name" in response.body.decode()


async def test_unknown_route_is_404_inside_outer_200(probe: FunctionInstance):
    response = await probe.call(gateway_headers("GET", "/v1/nowhere"), b"")
    assert (response.status, response.header("Fn-Http-Status")) == (200, "404")


async def test_repeated_headers_survive_and_content_type_is_unprefixed(probe: FunctionInstance):
    response = await probe.call(gateway_headers("GET", "/v1/cookies"), b"")
    cookies = response.header_values("Fn-Http-H-Set-Cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("first=1") and cookies[1].startswith("second=2")
    assert response.header("Fn-Http-H-X-Custom") == "yes"
    assert response.header("Content-Type") == "application/json"
    assert response.header("Fn-Http-H-Content-Type") is None
    assert int(response.header("Content-Length") or -1) == len(response.body)


async def test_direct_invoke_goes_to_default_route(probe: FunctionInstance):
    response = await probe.call(
        [("Fn-Call-Id", "d1"), ("Fn-Deadline", deadline()), ("Content-Type", "application/json")],
        b'{"name": "from direct invoke"}',
    )
    assert response.status == 200
    assert response.header("Fn-Http-Status") == "201"
    assert json_body(response) == {"name": "from direct invoke"}


async def test_cloudevent_goes_to_event_route(probe: FunctionInstance):
    event = {"eventType": "com.oraclecloud.objectstorage.createobject", "data": {}}
    response = await probe.call(
        [("Fn-Call-Id", "e1"), ("Fn-Intent", "cloudevent"), ("Fn-Deadline", deadline()),
         ("Content-Type", "application/cloudevents+json")],
        json.dumps(event).encode(),
    )
    assert response.header("Fn-Http-Status") == "200"
    assert json_body(response) == {"received": event["eventType"], "intent": "cloudevent"}


async def test_unhandled_exception_is_outer_502_naming_call_without_traceback(
    probe: FunctionInstance,
):
    response = await probe.call(gateway_headers("GET", "/v1/crash", call_id="crash-9"), b"")
    assert response.status == 502
    body = json_body(response)
    assert body["call_id"] == "crash-9"
    text = response.body.decode()
    assert "Traceback" not in text and "internal detail" not in text
    # The container survives a failed call: the next one works.
    again = await probe.call(gateway_headers("GET", "/v1/status/200"), b"")
    assert again.status == 200


async def test_passed_deadline_is_504(probe: FunctionInstance):
    headers = gateway_headers("GET", "/v1/status/200")
    headers[1] = ("Fn-Deadline", "2020-01-01T00:00:00.000Z")
    response = await probe.call(headers, b"")
    assert response.status == 504


async def test_deadline_reached_during_call_is_504(probe: FunctionInstance):
    headers = gateway_headers("GET", "/v1/sleep/5")
    headers[1] = ("Fn-Deadline", deadline(0.3))
    response = await probe.call(headers, b"")
    assert response.status == 504
    assert "deadline" in json_body(response)["error"]


async def test_body_over_6mb_is_refused_with_413(probe: FunctionInstance):
    body = b"x" * (7 * 1024 * 1024)
    response = await probe.call(gateway_headers("POST", "/v1/size"), body)
    assert response.status == 200
    assert response.header("Fn-Http-Status") == "413"
    assert "limit" in json_body(response)["error"]
    ok = await probe.call(gateway_headers("POST", "/v1/size"), b"x" * (5 * 1024 * 1024))
    assert json_body(ok) == {"bytes": 5 * 1024 * 1024}


async def test_response_over_6mb_is_502(probe: FunctionInstance):
    response = await probe.call(gateway_headers("GET", f"/v1/big/{7 * 1024 * 1024}"), b"")
    assert response.status == 502


async def test_every_outcome_has_a_valid_outer_status(probe: FunctionInstance):
    paths = ["/v1/echo", "/v1/crash", "/v1/status/404", "/v1/status/502", "/v1/nowhere",
             "/v1/cookies", "/v1/status/504"]
    for path in paths:
        response = await probe.call(gateway_headers("GET", path), b"")
        assert response.status in OUTER, path


async def test_lifespan_startup_runs_once_over_100_calls(probe: FunctionInstance):
    pids = set()
    for n in range(100):
        response = await probe.call(gateway_headers("GET", "/v1/lifespan", call_id=f"c{n}"),
                                    b"")
        seen = json_body(response)
        assert seen["startups"] == 1
        pids.add(seen["pid"])
    assert len(pids) == 1


async def test_logs_are_json_with_call_id_and_never_the_body(probe: FunctionInstance):
    secret_body = b'{"name": "body-canary-8842"}'
    await probe.call(gateway_headers("POST", "/v1/items", ("Content-Type", "application/json"),
                                     call_id="log-call-1"), secret_body)
    await probe.call(gateway_headers("GET", "/v1/crash", call_id="log-call-2"), b"")
    await probe.kill()
    lines = probe.log_lines  # type: ignore[attr-defined]
    records = [json.loads(line) for line in lines]
    assert any(r.get("call_id") == "log-call-1" and r.get("status") == 201 for r in records)
    assert any(r.get("call_id") == "log-call-2" and r["level"] == "error" for r in records)
    assert "body-canary-8842" not in "\n".join(lines)


async def test_non_call_requests_still_get_a_valid_outer_status(probe: FunctionInstance):
    reader, writer = await asyncio.open_unix_connection(str(probe.socket_dir / "lsnr.sock"))
    writer.write(b"GET /items HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 502")


async def test_sigterm_runs_lifespan_shutdown_and_removes_sockets(tmp_path: Path,
                                                                  socket_root: Path):
    markers = tmp_path / "m"
    markers.mkdir()
    instance = await started_instance(probe_spec(markers), socket_root)
    pid = instance.process.pid  # type: ignore[union-attr]
    assert (markers / f"startup-{pid}").exists()
    instance.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    code = await asyncio.wait_for(instance.process.wait(), 10)  # type: ignore[union-attr]
    assert code == 0
    assert (markers / f"shutdown-{pid}").exists()
    assert not (instance.socket_dir / "lsnr.sock").exists()
    assert not (instance.socket_dir / "phonylsnr.sock").exists()


async def test_stale_sockets_are_replaced(tmp_path: Path, socket_root: Path):
    import socket as socketlib

    first_dir = socket_root / "i-stale"
    first_dir.mkdir()
    stale = socketlib.socket(socketlib.AF_UNIX)
    stale.bind(str(first_dir / "phonylsnr.sock"))
    stale.close()
    os.symlink("phonylsnr.sock", first_dir / "lsnr.sock")
    from fastfn.localcloud.fn.agent_client import AgentConnection
    from fastfn.runtime.fn import listener

    paths = listener.ListenerPaths.from_env_value(f"unix:{first_dir / 'lsnr.sock'}")
    sock = listener.bind(paths)
    listener.publish(paths)
    server = await asyncio.start_unix_server(lambda r, w: w.close(), sock=sock)
    assert os.readlink(first_dir / "lsnr.sock") == "phonylsnr.sock"
    connection = await AgentConnection.dial(first_dir / "lsnr.sock")
    connection.close()
    server.close()


async def test_failed_lifespan_startup_exits_without_publishing(tmp_path: Path,
                                                                socket_root: Path):
    from fastfn.localcloud.fn.platform import InstanceStartError

    with pytest.raises(InstanceStartError) as failure:
        await started_instance(probe_spec(tmp_path, PROBE_FAIL_STARTUP="1"), socket_root)
    assert failure.value.response.status == 502
    assert not list(socket_root.glob("*/lsnr.sock"))


def test_a_resolved_secret_is_masked_in_the_runtimes_json_logs(tmp_path: Path):
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from fastfn.runtime import logs\n"
        "from fastfn.runtime.secrets import resolve\n"
        "logs.configure('INFO')\n"
        "value = resolve('env:DB_PASSWORD').reveal()\n"
        "logging.getLogger('app').info('connecting with %s', value, extra={'pw': value})\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "DB_PASSWORD": "canary-s3cret-value"},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["msg"].startswith("connecting with ")
    assert "canary-s3cret-value" not in result.stderr


async def test_call_failed_is_an_outer_502_without_a_traceback(probe: FunctionInstance):
    response = await probe.call(gateway_headers("GET", "/v1/fail-on-purpose",
                                                call_id="fail-1"), b"")
    assert response.status == 502
    assert json_body(response)["error"] == "try again later"
    assert json_body(response)["call_id"] == "fail-1"
    await probe.kill()
    records = [json.loads(line) for line in probe.log_lines]  # type: ignore[attr-defined]
    failed = [r for r in records if r.get("call_id") == "fail-1"]
    assert failed and failed[0]["level"] == "warning" and "exc" not in failed[0]
