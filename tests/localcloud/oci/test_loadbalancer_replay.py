"""The local load balancer never runs a request twice: a POST whose backend fails after it
was sent gets a 502, a replayable request goes to the next backend, and a kept-alive
connection the backend closed is not reused. Real TCP backends, the LB set up through the
real oci SDK."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import oci
import pytest
from oci.load_balancer.models import (
    BackendDetails,
    CreateBackendSetDetails,
    CreateListenerDetails,
    CreateLoadBalancerDetails,
    HealthCheckerDetails,
)

from fastfn.localcloud.oci import LocalCloud

IPS = ("127.0.0.2", "127.0.0.3")
IDLE_CLOSE_S = 0.3  # each backend closes a kept-alive connection idle this long


class Backends:
    """Two HTTP/1.1 backends sharing one record of what they received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.hits: Counter[str] = Counter()  # "METHOD path" -> requests received
        self.lock = threading.Lock()
        self.servers = [ThreadingHTTPServer((ip, port), self.handler()) for ip in IPS]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        backends = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE_CLOSE_S

            def log_message(self, *_args: object) -> None:
                pass

            def answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                if self.path == "/health":
                    self.reply(b"ok")
                    return
                with backends.lock:
                    backends.hits[f"{self.command} {self.path}"] += 1
                    first = backends.hits[f"{self.command} {self.path}"] == 1
                if self.path.startswith("/flaky") and first:
                    # Processed, then the backend dies before answering.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.reply(self.server.server_address[0].encode())

            def reply(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = answer

        return Handler

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def balanced(cloud: LocalCloud) -> Iterator[tuple[int, Backends]]:
    backends = Backends(free_port())
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient)
    created = lbc.create_load_balancer(CreateLoadBalancerDetails(
        compartment_id=cloud.compartment_id, display_name="replay", shape_name="flexible",
        subnet_ids=[]))
    lb_id = lbc.get_work_request(created.headers["opc-work-request-id"]).data.load_balancer_id
    hc = HealthCheckerDetails(protocol="HTTP", url_path="/health", return_code=200,
                              interval_in_millis=200, timeout_in_millis=1000, retries=1)
    lbc.create_backend_set(CreateBackendSetDetails(
        name="api", policy="ROUND_ROBIN", health_checker=hc,
        backends=[BackendDetails(ip_address=ip, port=backends.port) for ip in IPS]), lb_id)
    listen = free_port()
    lbc.create_listener(CreateListenerDetails(name="http", default_backend_set_name="api",
                                              port=listen, protocol="HTTP"), lb_id)
    deadline = time.monotonic() + 20
    while lbc.get_backend_set_health(lb_id, "api").data.status != "OK":
        assert time.monotonic() < deadline, "backends never turned healthy"
        time.sleep(0.1)
    yield listen, backends
    backends.close()


def request(port: int, method: str, path: str,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method != "GET" else None,
                     headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_post_that_failed_after_it_was_sent_is_not_run_again(balanced) -> None:  # type: ignore[no-untyped-def]
    port, backends = balanced
    status, body = request(port, "POST", "/flaky-post")
    assert status == 502 and b"not replayed" in body
    assert backends.hits["POST /flaky-post"] == 1


@pytest.mark.parametrize("method,headers", [
    ("GET", {}), ("PUT", {}), ("POST", {"Idempotency-Key": "k-1"}),
])
def test_a_replayable_request_goes_to_the_next_backend(balanced, method: str,  # type: ignore[no-untyped-def]
                                                       headers: dict[str, str]) -> None:
    port, backends = balanced
    path = f"/flaky-{method.lower()}-{len(headers)}"
    status, body = request(port, method, path, headers)
    assert status == 200 and body.decode() in IPS
    assert backends.hits[f"{method} {path}"] == 2


def test_a_kept_alive_connection_closed_by_the_backend_is_not_reused(balanced) -> None:  # type: ignore[no-untyped-def]
    port, backends = balanced
    # Warm the proxy's kept-alive connections to both backends, let the backends close them.
    for _ in range(4):
        assert request(port, "POST", "/ok")[0] == 200
    time.sleep(IDLE_CLOSE_S * 3)
    results = [request(port, "POST", "/ok")[0] for _ in range(4)]
    assert results == [200] * 4
    assert backends.hits["POST /ok"] == 8
