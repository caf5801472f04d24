"""Fuzzing the local Fn gateway (issue 16): hostile raw requests, to a deployment's path
(so they reach a real function process) and outside it, and slow senders. Every answer
is below 500 (the app's own 4xx pass through), and another client is answered within
1 s throughout."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from oci._vendor import requests

from fastfn.localcloud.fn.gateway import Gateway, GatewayRoute, GatewayServer
from fastfn.localcloud.fn.platform import FnPlatform

from support.fn import probe_spec, short_socket_root
from support.fuzz import (
    CORPUS_NAMES,
    Watchdog,
    assert_hostile_request_refused,
    assert_slow_senders_harmless,
    hostile_request,
    watch_get,
)

pytestmark = pytest.mark.slow


class GatewayThread:
    """The gateway and its platform on an event loop of their own, as `fastfn dev` runs."""

    def __init__(self, root: Path, markers: Path) -> None:
        self.root, self.markers = root, markers
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self.thread = threading.Thread(target=self.loop.run_until_complete,
                                       args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self.stopping = asyncio.Event()
        platform = FnPlatform(work_dir=self.root, log_sink=lambda _n, _l: None)
        spec = probe_spec(self.markers, timeout_s=5.0, FASTFN_ROOT_PATH="/v1")
        server = GatewayServer(Gateway(platform, [GatewayRoute("/v1", spec)]))
        try:
            async with server:
                self.address = (server.host, server.port)
                self.ready.set()
                await self.stopping.wait()
        finally:
            await platform.aclose()

    def __enter__(self) -> GatewayThread:
        self.thread.start()
        assert self.ready.wait(60), "the gateway did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stopping is not None
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(timeout=60)
        self.loop.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    root = short_socket_root()
    try:
        with GatewayThread(root, tmp_path_factory.mktemp("markers")) as running:
            host, port = running.address
            # A first call starts the function's instance (a cold start).
            assert requests.post(f"http://{host}:{port}/v1/items", json={"name": "warm"},
                                 timeout=60).status_code == 201
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


def other_client(gateway: GatewayThread) -> Watchdog:
    host, port = gateway.address
    return watch_get(f"http://{host}:{port}/elsewhere", status=404)


@pytest.mark.parametrize("name", CORPUS_NAMES)
@pytest.mark.parametrize("prefix", [b"/v1/", b"/elsewhere/"])
def test_hostile_raw_request_is_not_a_5xx_nor_a_stall(gateway: GatewayThread, name: str,
                                                      prefix: bytes) -> None:
    assert_hostile_request_refused(gateway.address, hostile_request(name, prefix),
                                   other_client(gateway), server="gateway")


def test_slow_senders_do_not_hold_up_other_clients(gateway: GatewayThread) -> None:
    assert_slow_senders_harmless(
        gateway.address, other_client(gateway), count=30,
        head=b"POST /v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")


def test_a_slow_body_does_not_hold_up_other_calls(gateway: GatewayThread) -> None:
    """A body that arrives slowly keeps only its own call waiting, not the function."""
    host, port = gateway.address
    session = requests.Session()

    def probe() -> None:
        response = session.post(f"http://{host}:{port}/v1/items", json={"name": "x"},
                                timeout=10)
        assert response.status_code == 201

    assert_slow_senders_harmless(
        gateway.address, Watchdog(probe), count=5,
        head=b"POST /v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
