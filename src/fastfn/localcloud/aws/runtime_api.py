"""The Lambda Runtime API (2018-06-01) for one execution environment, on loopback.

The runtime long-polls `GET /runtime/invocation/next`, answers with
`POST /runtime/invocation/{id}/response` or `.../error`, and reports a failed init with
`POST /runtime/init/error`. Every accepted connection gets TCP_NODELAY: the runtime
client keeps its connection alive, and without it each invoke waits on Nagle's algorithm
and the peer's delayed ACK (~40-90 ms).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler

from fastfn.localcloud.aws.http_server import LocalHTTPServer

log = logging.getLogger("fastfn.localcloud.lambda")

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


class Invocation:
    """One invoke handed to the runtime, and what it answered."""

    def __init__(self, request_id: str, payload: bytes, function_arn: str,
                 timeout_s: float) -> None:
        self.request_id = request_id
        self.payload = payload
        self.function_arn = function_arn
        self.timeout_s = timeout_s
        self.deadline: float | None = None  # epoch seconds, set when handed out
        self.handed_out = threading.Event()
        self.done = threading.Event()
        self.body = b""
        self.error_type: str | None = None  # set when the runtime posted .../error
        self.finished_at = 0.0

    def finish(self, body: bytes, error_type: str | None) -> None:
        self.body = body
        self.error_type = error_type
        self.finished_at = time.time()
        self.done.set()


class _Server(LocalHTTPServer):
    def __init__(self, api: RuntimeAPI) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, {"errorType": "InvalidPath", "errorMessage": self.path})
            return
        invocation = self.server.api.next_invocation()
        if invocation is None:  # the environment is being shut down
            self._reply(500, {"errorType": "Runtime.Shutdown", "errorMessage": "shutdown"})
            return
        data = invocation.payload
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(invocation.deadline * 1000)))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id",
                         f"Root=1-{int(time.time()):08x}-{invocation.request_id[:24]};"
                         "Sampled=0")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self._body()
        api = self.server.api
        if self.path == f"{PREFIX}/init/error":
            api.report_init_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            self._reply(202, {"status": "OK"})
            return
        head, _, verb = self.path.rpartition("/")
        request_id = head.removeprefix(f"{PREFIX}/invocation/")
        invocation = api.current
        if (not head.startswith(f"{PREFIX}/invocation/") or verb not in ("response", "error")):
            self._reply(404, {"errorType": "InvalidPath", "errorMessage": self.path})
            return
        if invocation is None or invocation.request_id != request_id or invocation.done.is_set():
            self._reply(400, {"errorType": "InvalidRequestID",
                              "errorMessage": "Invalid request ID"})
            return
        if verb == "response" and len(body) > MAX_RESPONSE_BYTES:
            invocation.finish(json.dumps({
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum "
                                f"allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
            }).encode(), "Function.ResponseSizeTooLarge")
            self._reply(413, {"errorType": "RequestEntityTooLarge",
                              "errorMessage": "response too large"})
            return
        error_type = None
        if verb == "error":
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
        invocation.finish(body, error_type)
        self._reply(202, {"status": "OK"})


class RuntimeAPI:
    """The Runtime API of one environment: at most one invocation at a time."""

    def __init__(self) -> None:
        self._pending: queue.Queue[Invocation | None] = queue.Queue()
        self.current: Invocation | None = None
        self.init_error: bytes | None = None
        self.init_error_type: str | None = None
        self.init_failed = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="lambda-runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def nodelay_values(self) -> list[int]:
        """TCP_NODELAY as read back from each accepted connection."""
        return list(self._server.nodelay_values)

    def submit(self, invocation: Invocation) -> None:
        self.current = invocation
        self._pending.put(invocation)

    def next_invocation(self) -> Invocation | None:
        invocation = self._pending.get()
        if invocation is not None:
            invocation.deadline = time.time() + invocation.timeout_s
            invocation.handed_out.set()
        return invocation

    def report_init_error(self, body: bytes, error_type: str | None) -> None:
        self.init_error = body
        self.init_error_type = error_type or "Runtime.Unknown"
        self.init_failed.set()

    def close(self) -> None:
        self._pending.put(None)
        self._server.shutdown()
        self._server.server_close()
