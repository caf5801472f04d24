"""A function URL on localhost: real HTTP requests become payload-2.0 events for a local
function, and its results become HTTP responses, as Lambda function URLs do.

A result with `statusCode` is an HTTP response (headers, `cookies` as Set-Cookie headers,
a base64 body when `isBase64Encoded`); any other result is a 200 JSON response with the
result as its body; a function error is a 502.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from fastfn.localcloud.aws.http_server import LocalHTTPServer
from fastfn.localcloud.aws.lambda_ import LocalFunction
from fastfn.runtime.aws.events.common import encode_body

MAX_REQUEST_BYTES = 6 * 1024 * 1024
_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations/?$")


def build_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes,
                host: str, client_ip: str) -> dict:
    parts = urlsplit(target)
    lowered: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            lowered.setdefault(key, []).append(value)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    text, is_b64 = encode_body(body, [(k.encode("latin-1"), v[0].encode("latin-1"))
                                      for k, v in lowered.items()])
    now = time.time()
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": {k: ",".join(v) for k, v in lowered.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": host.partition(".")[0],
            "domainName": host,
            "domainPrefix": host.partition(".")[0],
            "http": {"method": method, "path": parts.path or "/", "protocol": "HTTP/1.1",
                     "sourceIp": client_ip, "userAgent": lowered.get("user-agent", [""])[0]},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if body:
        event["body"] = text
    return event


def response_parts(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    try:
        result = json.loads(payload)
    except ValueError:
        result = None
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("content-type", "application/json")], payload
    status = int(result.get("statusCode") or 200)
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(c)) for c in result.get("cookies") or ()]
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body)
        except (binascii.Error, ValueError):
            return 502, [("content-type", "application/json")], b'{"Message":null}'
    else:
        data = str(body).encode()
    return status, headers, data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The stdlib parser's own refusals (501 unknown method, 505 version) are the
        client's fault: a 400, as a function URL answers, never a 5xx."""
        self.close_connection = True
        if code >= 500:
            code, message = 400, f"Bad Request: {message or 'malformed request'}"
        super().send_error(code, message, explain)

    def _bad_request(self, message: str) -> None:
        self.close_connection = True
        self._send(400, [("content-type", "application/json")],
                   json.dumps({"Message": message}).encode())

    def _handle(self) -> None:
        problem = _framing_problem(self.path, self.headers.get_all("Content-Length") or [],
                                   self.headers.get("Transfer-Encoding"))
        if problem:
            self._bad_request(problem)
            return
        if self.server.invoke_api and self.command == "POST" and _INVOKE.match(
                self.path.split("?")[0]):
            self._direct_invoke()
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._send(413, [("content-type", "application/json")],
                       b'{"Message":"Request must be smaller than 6291456 bytes"}')
            return
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "localhost"
        event = build_event(self.command, self.path, list(self.headers.items()), body, host,
                            self.client_address[0])
        result = self.server.function.invoke(event)
        if result.function_error:
            self._send(502, [("content-type", "application/json")],
                       b'{"Message":"Internal Server Error"}')
            return
        self._send(*response_parts(result.payload))

    def _direct_invoke(self) -> None:
        """Lambda's Invoke API: the body is the event, the answer the function's result."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._send(413, [("content-type", "application/json")],
                       b'{"Type":"User","message":"Request must be smaller than 6291456 '
                       b'bytes for the InvokeFunction operation"}')
            return
        body = (self.rfile.read(length) if length else b"") or b"{}"
        result = self.server.function.invoke(body)
        headers = [("content-type", "application/json"),
                   ("X-Amz-Executed-Version", self.server.function.version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        self._send(200, headers, result.payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def _framing_problem(target: str, lengths: list[str], transfer_encoding: str | None
                     ) -> str | None:
    """Why the request's target or body framing cannot be read safely, if it cannot."""
    if not target.startswith("/"):
        return "The request target must be a path."
    if transfer_encoding is not None:
        return "Transfer-Encoding is not supported: send Content-Length."
    if len(set(lengths)) > 1:
        return "Content-Length is given more than once."
    if lengths and not (lengths[0].isascii() and lengths[0].isdigit()):
        return "Content-Length must be a non-negative integer."
    return None


class _Server(LocalHTTPServer):
    def __init__(self, function: LocalFunction, port: int, invoke_api: bool) -> None:
        self.function = function
        self.invoke_api = invoke_api
        super().__init__(("127.0.0.1", port), _Handler)


class FunctionURL:
    """`with FunctionURL(fn) as url: httpx.get(url.url + "/path")`.

    `invoke_api=True` also answers Lambda's Invoke API path
    (`POST /2015-03-31/functions/<name>/invocations`, the body as the event), which is
    how `fastfn invoke` reaches a running `fastfn dev`."""

    def __init__(self, function: LocalFunction, port: int = 0,
                 invoke_api: bool = False) -> None:
        self._server = _Server(function, port, invoke_api)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="lambda-function-url", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def nodelay_values(self) -> list[int]:
        """TCP_NODELAY as read back from each accepted connection."""
        return list(self._server.nodelay_values)

    def start(self) -> FunctionURL:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FunctionURL:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
