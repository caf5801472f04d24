"""The local API gateway: real HTTP in, Fn calls to a real function process, real answers out."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

import httpx
import pytest

from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute, GatewayServer
from fastfn.localcloud.fn.platform import FnPlatform

from support.fn import probe_spec


@pytest.fixture
async def gateway(socket_root: Path, tmp_path: Path):
    platform = FnPlatform(work_dir=socket_root, log_sink=lambda _n, _l: None)
    spec = probe_spec(tmp_path, timeout_s=2.0, FASTFN_ROOT_PATH="/v1")
    server = GatewayServer(Gateway(platform, [GatewayRoute("/v1", spec)]))
    async with server, httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        yield client


async def test_created_item_is_a_real_201(gateway: httpx.AsyncClient):
    response = await gateway.post("/v1/items", json={"name": "widget"})
    assert response.status_code == 201
    assert response.json() == {"name": "widget"}
    assert response.headers["content-type"] == "application/json"


async def test_invalid_item_is_a_real_422_naming_the_field(gateway: httpx.AsyncClient):
    response = await gateway.post("/v1/items", json={"nam": "widget"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


async def test_unknown_route_inside_the_deployment_is_the_apps_404(gateway: httpx.AsyncClient):
    response = await gateway.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_path_outside_any_deployment_is_the_gateways_404(gateway: httpx.AsyncClient):
    response = await gateway.get("/other/items")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}


async def test_method_path_query_and_headers_reach_the_app(gateway: httpx.AsyncClient):
    response = await gateway.request("PATCH", "/v1/echo?a=1&b=%20x",
                                     headers={"X-Trace": "t-1", "Content-Type": "text/plain"},
                                     content=b"payload")
    seen = response.json()
    assert (seen["method"], seen["root_path"], seen["query"]) == ("PATCH", "/v1", "a=1&b=%20x")
    headers = dict(seen["headers"])
    assert headers["x-trace"] == "t-1"
    assert headers["content-type"] == "text/plain"
    assert headers["host"].startswith("127.0.0.1:")
    assert seen["body"] == "payload"


async def test_two_set_cookie_headers_reach_the_client(gateway: httpx.AsyncClient):
    response = await gateway.get("/v1/cookies")
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert response.headers["x-custom"] == "yes"
    assert not any(name.lower().startswith("fn-http") for name in response.headers)


async def test_function_crash_is_the_gateways_502(gateway: httpx.AsyncClient):
    response = await gateway.get("/v1/crash")
    assert response.status_code == 502
    assert "internal detail" not in response.text


async def test_function_timeout_is_the_gateways_504(gateway: httpx.AsyncClient):
    response = await gateway.get("/v1/sleep/10")
    assert response.status_code == 504
    assert (await gateway.get("/v1/echo")).status_code == 200


async def test_body_over_6mb_is_413(gateway: httpx.AsyncClient):
    response = await gateway.post("/v1/size", content=b"x" * (7 * 1024 * 1024))
    assert response.status_code == 413


async def test_direct_invoke_api_reaches_the_default_route(gateway: httpx.AsyncClient):
    response = await gateway.post("/20181201/functions/probe/actions/invoke",
                                  content=json.dumps({"name": "direct"}),
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.headers["fn-http-status"] == "201"
    assert response.json() == {"name": "direct"}


async def test_direct_invoke_of_unknown_function_is_404(gateway: httpx.AsyncClient):
    response = await gateway.post("/20181201/functions/nope/actions/invoke", content=b"{}")
    assert response.status_code == 404
    assert response.json()["code"] == "NotAuthorizedOrNotFound"


async def test_detached_invoke_is_accepted_with_202(gateway: httpx.AsyncClient):
    response = await gateway.post("/20181201/functions/probe/actions/invoke",
                                  content=b'{"name": "later"}',
                                  headers={"Fn-Invoke-Type": "detached",
                                           "Content-Type": "application/json"})
    assert response.status_code == 202


def _server_side_of(client_addr: tuple[str, int], server_port: int) -> socket.socket | None:
    """The accepted connection in this process (the gateway runs in the test's loop)."""
    for fd_name in os.listdir("/proc/self/fd"):
        fd = int(fd_name)
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if (sock.family == socket.AF_INET and sock.getsockname()[1] == server_port
                    and sock.getpeername() == client_addr):
                return sock
        except OSError:
            pass
        sock.close()
    return None


async def test_accepted_connections_have_tcp_nodelay(socket_root: Path) -> None:
    platform = FnPlatform(work_dir=socket_root, log_sink=lambda _n, _l: None)
    async with GatewayServer(Gateway(platform, [])) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 404")
            accepted = _server_side_of(writer.get_extra_info("sockname"), server.port)
            assert accepted is not None
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            writer.close()
