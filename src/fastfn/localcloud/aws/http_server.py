"""The stdlib HTTP server every embedded-AWS endpoint (Runtime API, function URL, the
front before moto) is built on.

Every accepted connection gets TCP_NODELAY: keep-alive clients (boto3, awslambdaric)
would otherwise wait on Nagle's algorithm and the peer's delayed ACK, about 40 ms per
answer. A client that resets its connection (a runtime killed at its deadline) is not
worth a traceback.
"""

from __future__ import annotations

import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int],
                 handler: type[BaseHTTPRequestHandler]) -> None:
        self.nodelay_values: list[int] = []  # read back from each accepted connection
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, object]:
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.nodelay_values.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        return conn, address

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]
