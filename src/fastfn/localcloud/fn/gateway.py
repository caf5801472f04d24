"""A local API gateway in front of the local Fn platform.

Like an OCI API Gateway deployment with a functions backend, it turns a real HTTP request
into an Fn call: `Fn-Intent: httprequest`, `Fn-Http-Method`, `Fn-Http-Request-Url` (path
and query, deployment prefix included, as OCI sends it) and each client header as
`Fn-Http-H-<Name>` (Content-Type unprefixed). It answers with the app's status from
`Fn-Http-Status`, its headers from `Fn-Http-H-*` and its body. A function failure (outer
502/504) becomes the gateway's own 502/504.

It also serves the Functions invoke API path (`POST /20181201/functions/{id}/actions/invoke`)
for direct invokes by `fastfn invoke`: the function's raw answer, as the invoke API gives it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastfn.localcloud.asgi import read_body
from fastfn.localcloud.fn.platform import MAX_BODY_BYTES, FnPlatform, FnResponse, FunctionSpec

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

INVOKE_PATH = re.compile(r"^/20181201/functions/([^/]+)/actions/invoke$")
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer",
    "proxy-authorization", "proxy-authenticate", "content-length",
})
# What the OCI gateway passes back from a functions backend besides Fn-Http-H-*.
_PASSED_BACK = frozenset({"content-type", "fn-call-id"})


@dataclass(frozen=True)
class GatewayRoute:
    prefix: str  # deployment path prefix, e.g. "/v1"; "" for the root
    spec: FunctionSpec


def _gateway_error(status: int, message: str) -> FnResponse:
    body = json.dumps({"code": status, "message": message}).encode()
    return FnResponse(status, [("Content-Type", "application/json")], body)


class Gateway:
    def __init__(self, platform: FnPlatform, routes: list[GatewayRoute]) -> None:
        self.platform = platform
        # Longest prefix first, so /v1/admin wins over /v1.
        self.routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)
        self._background: set[asyncio.Task] = set()

    def route_for(self, path: str) -> GatewayRoute | None:
        for route in self.routes:
            if not route.prefix or path == route.prefix or path.startswith(route.prefix + "/"):
                return route
        return None

    def spec_by_id_or_name(self, key: str) -> FunctionSpec | None:
        for route in self.routes:
            if key in (route.spec.fn_id, route.spec.fn_name):
                return route.spec
        return None

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive, MAX_BODY_BYTES)
        if body is None:
            response = _gateway_error(413, f"request body is over the {MAX_BODY_BYTES} byte limit")
        else:
            invoke = INVOKE_PATH.match(scope["path"])
            if invoke and scope["method"] == "POST":
                response = await self._direct_invoke(invoke.group(1), scope, body)
            else:
                response = await self._gateway_call(scope, body)
        await send({
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers if k.lower() not in _HOP_BY_HOP]
            + [(b"content-length", str(len(response.body)).encode())],
        })
        await send({"type": "http.response.body", "body": response.body})

    async def _gateway_call(self, scope: dict, body: bytes) -> FnResponse:
        path = scope["path"]
        route = self.route_for(path)
        if route is None:
            return _gateway_error(404, "Not Found")
        raw_path = scope.get("raw_path") or path.encode()
        target = raw_path.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [
            ("Fn-Intent", "httprequest"),
            ("Fn-Invoke-Type", "sync"),
            ("Fn-Http-Method", scope["method"]),
            ("Fn-Http-Request-Url", target),
        ]
        for name_b, value_b in scope["headers"]:
            name = name_b.decode("latin-1")
            value = value_b.decode("latin-1")
            if name == "content-type":
                headers.append(("Content-Type", value))
            elif name not in _HOP_BY_HOP:
                headers.append((f"Fn-Http-H-{name}", value))
        answer = await self.platform.invoke(route.spec, body, headers)
        return _client_response(answer)

    async def _direct_invoke(self, key: str, scope: dict, body: bytes) -> FnResponse:
        spec = self.spec_by_id_or_name(key)
        if spec is None:
            return FnResponse(404, [("Content-Type", "application/json")], json.dumps(
                {"code": "NotAuthorizedOrNotFound", "message": f"function {key} not found"}
            ).encode())
        given = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        headers = [("Fn-Intent", given.get("fn-intent", "httprequest"))]
        invoke_type = given.get("fn-invoke-type", "sync")
        headers.append(("Fn-Invoke-Type", invoke_type))
        if "content-type" in given:
            headers.append(("Content-Type", given["content-type"]))
        if invoke_type == "detached":
            task = asyncio.create_task(self.platform.invoke(spec, body, headers))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return FnResponse(202, [("Content-Type", "application/json")], b"")
        return await self.platform.invoke(spec, body, headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._background:
                    await asyncio.gather(*self._background, return_exceptions=True)
                await self.platform.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _client_response(answer: FnResponse) -> FnResponse:
    if answer.status == 413:
        return _gateway_error(413, "Payload Too Large")
    if answer.status == 504:
        return _gateway_error(504, "Gateway Timeout")
    if answer.status != 200:
        return _gateway_error(502, "Bad Gateway")
    status_text = answer.header("Fn-Http-Status") or "200"
    status = int(status_text) if status_text.isdigit() else 502
    headers: list[tuple[str, str]] = []
    for name, value in answer.headers:
        lname = name.lower()
        if lname.startswith("fn-http-h-"):
            real = name[len("fn-http-h-"):]
            if real.lower() not in _HOP_BY_HOP:
                headers.append((real, value))
        elif lname in _PASSED_BACK:
            headers.append((name, value))
    return FnResponse(status, headers, answer.body)


def bind_loopback(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY on accepted connections only when
    # the listening socket says TCP, and without it a request on a kept-alive connection
    # waits ~44 ms for the client's delayed ACK (Nagle) (issue 14).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class GatewayServer:
    """The gateway served by uvicorn on loopback, inside the caller's event loop."""

    def __init__(self, gateway: Gateway, port: int = 0, host: str = "127.0.0.1") -> None:
        import uvicorn

        self.gateway = gateway
        self.sock = bind_loopback(port, host)
        self.host, self.port = self.sock.getsockname()[:2]
        config = uvicorn.Config(gateway, lifespan="on", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def wait(self) -> None:
        assert self._task is not None
        await self._task

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task

    async def __aenter__(self) -> GatewayServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
