"""The embedded AWS endpoint: moto behind a thin front that owns Lambda's data plane.

Every request goes to moto unchanged except these, which the front handles itself:

- `POST /2015-03-31/functions/{name}/invocations` (`lambda.invoke`): run by the local
  Lambda (dispatch.py), never by moto's Docker-less stub. `RequestResponse` answers the
  function's payload with `X-Amz-Function-Error` and `X-Amz-Executed-Version`; `Event`
  answers 202 and runs the invoke in the background; `DryRun` answers 204.
- CreateFunction, UpdateFunctionCode and PublishLayerVersion pass through to moto, after
  the front has kept a copy of the zip (codestore.py), read from the request's ZipFile or
  from moto's S3 for S3Bucket/S3Key. Any write to the Lambda API empties the dispatcher's
  configuration cache.
- Function URL configurations pass through; moto does not model their qualifier, so the
  front records it (the alias the URL invokes) and answers it in FunctionArn, and answers
  FunctionUrl as the local address where the URL is served:
  `http://127.0.0.1:<port>/lambda-url/<url-id>/`. A request there (or one whose Host is the
  URL's AWS host name, `<url-id>.lambda-url.<region>.on.aws`) becomes a payload-2.0 event
  for the URL's qualifier, with CORS (preflight and response headers) and AuthType as
  Lambda applies them.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import re
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from fastfn.localcloud.aws.codestore import CodeStore, CodeStoreError
from fastfn.localcloud.aws.dispatch import DispatchError, LambdaDispatcher
from fastfn.localcloud.aws.function_url import MAX_REQUEST_BYTES, build_event, response_parts
from fastfn.localcloud.aws.http_server import LocalHTTPServer

log = logging.getLogger("fastfn.localcloud.aws")

_FN = r"(?P<name>[^/?]+)"
_INVOKE = re.compile(rf"^/2015-03-31/functions/{_FN}/invocations/?$")
_CREATE = re.compile(r"^/2015-03-31/functions/?$")
_UPDATE_CODE = re.compile(rf"^/2015-03-31/functions/{_FN}/code/?$")
_PUBLISH_LAYER = re.compile(r"^/2018-10-31/layers/(?P<name>[^/?]+)/versions/?$")
_URL_CONFIG = re.compile(rf"^/20\d\d-\d\d-\d\d/functions/{_FN}/url/?$")
_LAMBDA_API = re.compile(r"^/20\d\d-\d\d-\d\d/(functions|layers|event-source-mappings|tags)")
_URL_PATH = re.compile(r"^/lambda-url/(?P<id>[0-9a-f]{32})(?P<rest>/.*)?$")
_URL_HOST = re.compile(r"^(?P<id>[0-9a-f]{32})\.lambda-url\.[a-z0-9-]+\.on\.aws(:\d+)?$")
MAX_INVOKE_PAYLOAD = 6 * 1024 * 1024


@dataclass
class UrlConfig:
    url_id: str
    function_name: str
    qualifier: str | None
    auth_type: str
    cors: dict[str, Any]


def _json_error(error_type: str, message: str) -> bytes:
    return json.dumps({"Type": "User", "message": message, "__type": error_type}).encode()


class Front(LocalHTTPServer):

    def __init__(self, moto_port: int, dispatcher: LambdaDispatcher, code: CodeStore,
                 s3_client: Callable[[], Any], port: int = 0, host: str = "127.0.0.1") -> None:
        self.moto_port = moto_port
        self.dispatcher = dispatcher
        self.code = code
        self._s3_factory = s3_client
        self._s3: Any = None
        self.urls: dict[str, UrlConfig] = {}  # url id -> config
        self.url_lock = threading.Lock()
        self._local = threading.local()
        super().__init__((host, port), _Handler)

    @property
    def endpoint_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def local_url(self, url_id: str) -> str:
        return f"{self.endpoint_url}/lambda-url/{url_id}/"

    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self._s3_factory()
        return self._s3

    def moto(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=120)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = conn
        return conn

    def drop_moto(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Front

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------
    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES + 1024 * 1024 and not self._is_upload():
            self.close_connection = True
            self._send(413, [("content-type", "application/json")],
                       b'{"Message":"Request must be smaller than 6291456 bytes"}')
            return None
        return self.rfile.read(length) if length else b""

    def _is_upload(self) -> bool:
        path = self.path.split("?")[0]
        return not (_INVOKE.match(path) or _URL_PATH.match(path)
                    or _URL_HOST.match(self.headers.get("Host") or ""))

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "content-length", "keep-alive")}
        for attempt in (0, 1):
            conn = self.server.moto()
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, response.getheaders(), data
            except (OSError, http.client.HTTPException):
                self.server.drop_moto()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # -- dispatch ---------------------------------------------------------------------
    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        host_match = _URL_HOST.match(self.headers.get("Host") or "")
        url_match = _URL_PATH.match(path)
        body = self._read_body()
        if body is None:
            return
        if host_match or url_match:
            url_id = (host_match or url_match).group("id")  # type: ignore[union-attr]
            rest = path if host_match else (url_match.group("rest") or "/")  # type: ignore[union-attr]
            target = rest + (f"?{split.query}" if split.query else "")
            self._function_url(url_id, target, body)
            return
        query = urllib.parse.parse_qs(split.query)
        qualifier = (query.get("Qualifier") or [None])[0]
        invoke = _INVOKE.match(path)
        if invoke and self.command == "POST":
            self._invoke(urllib.parse.unquote(invoke.group("name")), qualifier, body)
            return
        lambda_write = self.command != "GET" and _LAMBDA_API.match(path) is not None
        try:
            if self.command == "POST" and _CREATE.match(path):
                self._keep_code(body, "Code")
            elif self.command == "PUT" and _UPDATE_CODE.match(path):
                self._keep_code(body, None)
        except CodeStoreError as exc:
            self._send(400, [("content-type", "application/json")],
                       _json_error("InvalidParameterValueException", str(exc)))
            return
        if self.command == "POST" and _PUBLISH_LAYER.match(path):
            try:
                sha = self._keep_code(body, "Content")
            except CodeStoreError as exc:
                self._send(400, [("content-type", "application/json")],
                           _json_error("InvalidParameterValueException", str(exc)))
                return
            status, headers, data = self._forward(body)
            if status < 300 and sha is not None:
                arn = json.loads(data).get("LayerVersionArn")
                if arn:
                    self.server.code.remember_layer(str(arn), sha)
            self._send(status, headers, data)
            return
        url_config = _URL_CONFIG.match(path)
        status, headers, data = self._forward(body)
        if lambda_write or url_config:
            self.server.dispatcher.invalidate()
        if url_config:
            data = self._url_config_answer(urllib.parse.unquote(url_config.group("name")),
                                           qualifier, status, data, body)
        self._send(status, headers, data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    # -- code -------------------------------------------------------------------------
    def _keep_code(self, body: bytes, field: str | None) -> str | None:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return None
        code = request.get(field) if field else request
        if not isinstance(code, dict):
            return None
        if code.get("ZipFile"):
            try:
                data = base64.b64decode(code["ZipFile"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise CodeStoreError("ZipFile must be base64") from None
        elif code.get("S3Bucket") and code.get("S3Key"):
            try:
                kwargs = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
                if code.get("S3ObjectVersion"):
                    kwargs["VersionId"] = code["S3ObjectVersion"]
                data = self.server.s3().get_object(**kwargs)["Body"].read()
            except Exception:
                return None  # moto answers the missing bucket/key error itself
        else:
            return None
        return self.server.code.put(data)

    # -- invoke -----------------------------------------------------------------------
    def _invoke(self, name: str, qualifier: str | None, body: bytes) -> None:
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if len(body) > MAX_INVOKE_PAYLOAD:
            self._send(413, [("content-type", "application/json")], _json_error(
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_INVOKE_PAYLOAD} bytes for the "
                "InvokeFunction operation"))
            return
        dispatcher = self.server.dispatcher
        body = body or b"{}"  # Lambda hands an invoke without a payload `{}`
        try:
            dispatcher.route(name, qualifier)  # an unknown function or alias is a 404
            if kind == "DryRun":
                self._send(204, [], b"")
                return
            if kind == "Event":
                threading.Thread(target=self._invoke_quietly, args=(name, qualifier, body),
                                 daemon=True).start()
                self._send(202, [("x-amzn-RequestId", str(uuid.uuid4()))], b"")
                return
            config, result = dispatcher.invoke(name, qualifier, body)
        except DispatchError as exc:
            self._send(exc.status, [("content-type", "application/json"),
                                    ("x-amzn-ErrorType", exc.error_type)],
                       _json_error(exc.error_type, exc.message))
            return
        headers = [("content-type", "application/json"),
                   ("x-amzn-RequestId", result.request_id),
                   ("X-Amz-Executed-Version", config.version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        self._send(200, headers, result.payload)

    def _invoke_quietly(self, name: str, qualifier: str | None, body: bytes) -> None:
        try:
            self.server.dispatcher.invoke(name, qualifier, body)
        except DispatchError as exc:
            log.warning("asynchronous invoke of %s failed: %s", name, exc.message)

    # -- function URLs ----------------------------------------------------------------
    def _url_config_answer(self, name: str, qualifier: str | None, status: int,
                           data: bytes, request_body: bytes) -> bytes:
        if status >= 300 or self.command not in ("GET", "POST", "PUT"):
            if self.command == "DELETE" and status < 300:
                with self.server.url_lock:
                    for url_id, config in list(self.server.urls.items()):
                        if config.function_name == name.split(":")[-1]:
                            del self.server.urls[url_id]
            return data
        try:
            answer = json.loads(data)
            url_id = str(answer["FunctionUrl"]).split("//", 1)[1].split(".", 1)[0]
        except (ValueError, KeyError, IndexError, TypeError):
            return data
        base = name.split(":")[-1] if not name.startswith("arn:") else name.split(":")[6]
        with self.server.url_lock:
            known = self.server.urls.get(url_id)
            if self.command == "POST" or known is None:
                known = UrlConfig(url_id, base, qualifier, "NONE", {})
                self.server.urls[url_id] = known
            known.auth_type = str(answer.get("AuthType") or "NONE")
            known.cors = dict(answer.get("Cors") or {})
            recorded = known.qualifier
        answer["FunctionUrl"] = self.server.local_url(url_id)
        if recorded:
            answer["FunctionArn"] = f"{answer.get('FunctionArn')}:{recorded}"
        return json.dumps(answer).encode()

    def _function_url(self, url_id: str, target: str, body: bytes) -> None:
        with self.server.url_lock:
            config = self.server.urls.get(url_id)
        if config is None:
            self._send(404, [("content-type", "application/json")],
                       b'{"Message":null}')
            return
        if config.auth_type == "AWS_IAM" and not self.headers.get("Authorization"):
            self._send(403, [("content-type", "application/json")],
                       b'{"Message":"Forbidden"}')
            return
        origin = self.headers.get("Origin")
        cors = _cors_headers(config.cors, origin)
        if (self.command == "OPTIONS" and origin
                and self.headers.get("Access-Control-Request-Method") and config.cors):
            self._send(200, _preflight(config.cors, origin, self.headers), b"")
            return
        host = self.headers.get("Host") or "localhost"
        event = build_event(self.command, target, list(self.headers.items()), body,
                            f"{url_id}.lambda-url.{self.server.dispatcher.region}.on.aws"
                            if "lambda-url" not in host else host,
                            self.client_address[0])
        payload = json.dumps(event).encode()
        try:
            _, result = self.server.dispatcher.invoke(config.function_name, config.qualifier,
                                                      payload)
        except DispatchError as exc:
            self._send(502 if exc.status >= 500 else exc.status,
                       [("content-type", "application/json")],
                       json.dumps({"Message": exc.message}).encode())
            return
        if result.function_error:
            self._send(502, [("content-type", "application/json"), *cors],
                       b'{"Message":"Internal Server Error"}')
            return
        status, headers, data = response_parts(result.payload)
        headers = [h for h in headers if not h[0].lower().startswith("access-control-")]
        self._send(status, [*headers, *cors, ("x-amzn-RequestId", result.request_id)], data)


def _origin_allowed(cors: dict[str, Any], origin: str | None) -> str | None:
    if not origin:
        return None
    allowed = [str(o) for o in cors.get("AllowOrigins") or ()]
    if "*" in allowed:
        return "*" if not cors.get("AllowCredentials") else origin
    return origin if origin in allowed else None


def _cors_headers(cors: dict[str, Any], origin: str | None) -> list[tuple[str, str]]:
    allow = _origin_allowed(cors, origin) if cors else None
    if allow is None:
        return []
    out = [("Access-Control-Allow-Origin", allow)]
    if cors.get("ExposeHeaders"):
        out.append(("Access-Control-Expose-Headers", ",".join(cors["ExposeHeaders"])))
    if cors.get("AllowCredentials"):
        out.append(("Access-Control-Allow-Credentials", "true"))
    if allow != "*":
        out.append(("Vary", "Origin"))
    return out


def _preflight(cors: dict[str, Any], origin: str, headers: Any) -> list[tuple[str, str]]:
    allow = _origin_allowed(cors, origin)
    method = str(headers.get("Access-Control-Request-Method") or "").upper()
    methods = [str(m).upper() for m in cors.get("AllowMethods") or ()]
    if allow is None or not ("*" in methods or method in methods):
        return []
    out = [("Access-Control-Allow-Origin", allow),
           ("Access-Control-Allow-Methods", ",".join(methods))]
    if cors.get("AllowHeaders"):
        out.append(("Access-Control-Allow-Headers", ",".join(cors["AllowHeaders"])))
    if cors.get("MaxAge"):
        out.append(("Access-Control-Max-Age", str(cors["MaxAge"])))
    if cors.get("AllowCredentials"):
        out.append(("Access-Control-Allow-Credentials", "true"))
    return out
