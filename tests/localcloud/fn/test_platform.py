"""The local Fn platform: real processes, real sockets, the agent's rules."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sys
from pathlib import Path

import pytest

from fastfn.localcloud.fn.agent_client import SocketContractError, check_published_socket
from fastfn.localcloud.fn.platform import FnPlatform, FunctionSpec

from support.fn import APPS_DIR, json_body, probe_spec, started_instance


def gw(method: str, url: str) -> list[tuple[str, str]]:
    return [("Fn-Http-Method", method), ("Fn-Http-Request-Url", url)]


@pytest.fixture
async def platform(socket_root: Path):
    lines: list[str] = []
    platform = FnPlatform(work_dir=socket_root, max_instances=2,
                          log_sink=lambda _n, line: lines.append(line))
    platform.log_lines = lines  # type: ignore[attr-defined]
    yield platform
    await platform.aclose()


async def test_function_gets_fn_environment_and_config(platform: FnPlatform, tmp_path: Path):
    spec = probe_spec(tmp_path, GREETING="hello")
    response = await platform.invoke(spec, b"", gw("GET", "/echo"))
    assert response.status == 200
    instance = platform.started_instances[0]
    env = instance.environment()
    assert env["FN_FORMAT"] == "http-stream"
    assert env["FN_LISTENER"] == f"unix:{instance.socket_dir / 'lsnr.sock'}"
    assert env["FN_FN_ID"] == spec.fn_id and env["FN_APP_ID"] == spec.app_id
    assert env["GREETING"] == "hello"
    # The host's environment does not leak into the "container".
    os.environ["FASTFN_TEST_LEAK"] = "1"
    try:
        assert "FASTFN_TEST_LEAK" not in instance.environment()
    finally:
        del os.environ["FASTFN_TEST_LEAK"]


async def test_agent_headers_are_sent_and_call_ids_are_unique(platform: FnPlatform,
                                                              tmp_path: Path):
    spec = probe_spec(tmp_path)
    first = json_body(await platform.invoke(spec, b"", gw("GET", "/echo")))
    second = json_body(await platform.invoke(spec, b"", gw("GET", "/echo")))
    assert first["context"]["call_id"] and first["context"]["deadline"]
    assert first["context"]["call_id"] != second["context"]["call_id"]


async def test_warm_instance_is_reused(platform: FnPlatform, tmp_path: Path):
    spec = probe_spec(tmp_path)
    pids = {json_body(await platform.invoke(spec, b"", gw("GET", "/lifespan")))["pid"]
            for _ in range(10)}
    assert len(pids) == 1
    assert len(platform.started_instances) == 1


async def test_concurrent_calls_use_separate_instances_up_to_the_limit(platform: FnPlatform,
                                                                      tmp_path: Path):
    spec = probe_spec(tmp_path)
    await platform.invoke(spec, b"", gw("GET", "/lifespan"))  # one warm instance
    calls = [platform.invoke(spec, b"", gw("GET", "/sleep/0.4")) for _ in range(3)]
    started = asyncio.get_running_loop().time()
    responses = await asyncio.gather(*calls)
    elapsed = asyncio.get_running_loop().time() - started
    assert [r.status for r in responses] == [200, 200, 200]
    # max_instances=2, one call at a time each: 3 calls of 0.4 s need two rounds.
    assert len(platform.started_instances) == 2
    assert elapsed >= 0.8


async def test_crash_is_502_and_next_call_gets_a_fresh_instance(platform: FnPlatform,
                                                               tmp_path: Path):
    spec = probe_spec(tmp_path)
    before = json_body(await platform.invoke(spec, b"", gw("GET", "/lifespan")))["pid"]
    crashed = await platform.invoke(spec, b"", gw("GET", "/exit"))
    assert crashed.status == 502
    after = await platform.invoke(spec, b"", gw("GET", "/lifespan"))
    assert after.status == 200
    assert json_body(after)["pid"] != before


async def test_timeout_kills_the_instance_and_answers_504(platform: FnPlatform, tmp_path: Path):
    spec = probe_spec(tmp_path, timeout_s=1.0)
    slow = platform.invoke(spec, b"", gw("GET", "/sleep/30"))
    response = await asyncio.wait_for(slow, 10)
    assert response.status == 504
    victim = platform.started_instances[0]
    assert not victim.alive
    assert (await platform.invoke(spec, b"", gw("GET", "/lifespan"))).status == 200


async def test_a_slow_cold_start_does_not_use_up_the_calls_timeout(platform: FnPlatform,
                                                                   tmp_path: Path):
    # Startup takes longer than the call's timeout; the call itself is quick. Fn starts
    # the call's clock (and its Fn-Deadline) once an instance has the call.
    spec = probe_spec(tmp_path, timeout_s=1.0, PROBE_SLOW_STARTUP_S="1.5")
    response = await platform.invoke(spec, b"", gw("GET", "/echo"))
    assert response.status == 200, response.body


async def test_function_not_listening_within_5s_fails_like_the_agent(platform: FnPlatform,
                                                                    tmp_path: Path):
    spec = FunctionSpec(fn_id="f", fn_name="sleeper", app_id="a", app_name="t",
                        source_dir=APPS_DIR, app="unused:app",
                        command=[sys.executable, "-c", "import time; time.sleep(30)"])
    started = asyncio.get_running_loop().time()
    response = await platform.invoke(spec, b"", [])
    assert response.status == 504
    assert b"Container initialization timed out" in response.body
    assert asyncio.get_running_loop().time() - started < 8


async def test_function_exiting_at_start_is_502_with_a_pointer_to_its_log(
    platform: FnPlatform, tmp_path: Path
):
    spec = FunctionSpec(fn_id="f", fn_name="broken", app_id="a", app_name="t",
                        source_dir=APPS_DIR, app="no_such_module:app")
    response = await platform.invoke(spec, b"", [])
    assert response.status == 502
    assert any("no_such_module" in line for line in platform.log_lines)  # type: ignore[attr-defined]


async def test_seed_000_uvicorn_uds_cmd_fails_under_the_agent(platform: FnPlatform,
                                                              tmp_path: Path):
    """Seed 000/001's CMD `uvicorn main:app --uds /tmp/iofs/lsnr.sock`: the agent's
    POST /call reaches the app as a 404, an invalid outer status: the call fails (502)
    and the container is discarded."""
    socket_dir = platform.work_dir / "uv"
    spec = FunctionSpec(
        fn_id="f", fn_name="uvicorn-uds", app_id="a", app_name="t", source_dir=APPS_DIR,
        app="probe:app",
        command=[sys.executable, "-m", "uvicorn", "probe:app", "--uds",
                 str(socket_dir / "lsnr.sock")],
        config={"PROBE_MARKER_DIR": str(tmp_path)},
    )
    # The platform decides the socket directory; point uvicorn at the same one.
    from fastfn.localcloud.fn import platform as platform_module

    original = platform_module.FunctionInstance.__init__

    def fixed_dir(self, spec, root, log_sink, images=None):  # type: ignore[no-untyped-def]
        original(self, spec, root, log_sink, images)
        self.socket_dir = socket_dir

    platform_module.FunctionInstance.__init__ = fixed_dir  # type: ignore[method-assign]
    try:
        response = await platform.invoke(spec, b'{"name": "x"}', [])
    finally:
        platform_module.FunctionInstance.__init__ = original  # type: ignore[method-assign]
    assert response.status == 502
    assert b"invalid function response" in response.body
    assert not platform.started_instances[-1].alive


def test_socket_contract_checks(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "phonylsnr.sock"))
    try:
        os.symlink("phonylsnr.sock", tmp_path / "lsnr.sock")
        check_published_socket(tmp_path / "lsnr.sock")
        os.unlink(tmp_path / "lsnr.sock")
        os.symlink(str(tmp_path / "phonylsnr.sock"), tmp_path / "lsnr.sock")
        with pytest.raises(SocketContractError, match="relative"):
            check_published_socket(tmp_path / "lsnr.sock")
        os.unlink(tmp_path / "lsnr.sock")
        (tmp_path / "lsnr.sock").write_text("not a socket")
        with pytest.raises(SocketContractError, match="not a unix socket"):
            check_published_socket(tmp_path / "lsnr.sock")
    finally:
        sock.close()


async def test_platform_refuses_bodies_over_6mb(platform: FnPlatform, tmp_path: Path):
    response = await platform.invoke(probe_spec(tmp_path), b"x" * (6 * 1024 * 1024 + 1), [])
    assert response.status == 413


@pytest.mark.slow
@pytest.mark.timeout(600)  # 100 real cold starts: well under 1 s each, loaded machine
async def test_100_cold_starts_dialled_on_create_see_no_refusal_and_mode_0666(
    tmp_path: Path, socket_root: Path
):
    # A plain ASGI app: what is counted is the runtime's and platform's start (publish the
    # socket, dial on create), not 100 imports of a framework.
    spec = dataclasses.replace(probe_spec(tmp_path), app="bare:app")
    refused = []
    modes = set()
    for n in range(100):
        instance = await started_instance(spec, socket_root)
        refused.append(instance.refused_dials)
        modes.add(instance.socket_mode_at_create)
        response = await instance.call([("Fn-Call-Id", f"cold-{n}")], b'{"name": "n"}')
        assert response.status == 200
        await instance.kill()
    assert sum(refused) == 0
    assert modes == {0o666}


async def test_stop_function_retires_idle_and_busy_instances(platform: FnPlatform,
                                                             tmp_path: Path):
    spec = probe_spec(tmp_path)
    first = json_body(await platform.invoke(spec, b"", gw("GET", "/lifespan")))["pid"]
    busy = asyncio.create_task(platform.invoke(spec, b"", gw("GET", "/sleep/0.5")))
    await asyncio.sleep(0.2)
    await platform.stop_function(spec.fn_id)
    assert (await busy).status == 200  # the call in flight finishes
    after = json_body(await platform.invoke(spec, b"", gw("GET", "/lifespan")))["pid"]
    assert after != first
    assert sum(1 for i in platform.started_instances if i.alive) == 1
