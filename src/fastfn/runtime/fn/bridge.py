"""Translation between an Fn agent call and one ASGI HTTP request. Pure: no I/O.

Inbound: the agent always sends `POST /call`. Through an API gateway the client's request
travels in `Fn-Http-Method`, `Fn-Http-Request-Url` and `Fn-Http-H-*` headers; a direct
invoke (`oci fn function invoke`) has none of them and goes to the configured default
route; `Fn-Intent: cloudevent` without a method goes to the configured event route.

Outbound: the outer status may only be 200, 502 or 504 (anything else makes the agent
kill the container), so the app's status travels in `Fn-Http-Status` and its headers as
`Fn-Http-H-<Name>`, except Content-Type which the gateway passes unprefixed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from fastfn import __version__
from fastfn.runtime.asgi.cycle import TIMEOUT, Failure, Response
from fastfn.runtime.asgi.scope import (
    HeaderList,
    http_scope,
    root_path_for,
    server_from_host,
    split_target,
)
from fastfn.runtime.context import FnContext
from fastfn.runtime.routes import (  # noqa: F401 (re-exported: the Fn names of these)
    ENV_DEFAULT_ROUTE,
    ENV_EVENT_ROUTE,
    ENV_ROOT_PATH,
    Route,
    RouteConfig,
    RouteError,
)

# OCI Functions limit for request and response bodies.
MAX_BODY_BYTES = 6 * 1024 * 1024


_HTTP_H = b"fn-http-h-"
_FDK_HEADERS = (
    b"Fn-Fdk-Version: fastfn/" + __version__.encode() + b"\r\n"
    b"Fn-Fdk-Runtime: python/" + ".".join(map(str, sys.version_info[:3])).encode() + b"\r\n"
)
# Never forwarded to the app from the gateway's client headers: hop-by-hop, and the
# content framing we recompute from the body we actually received.
_DROP_CLIENT_HEADERS = frozenset({b"content-length", b"transfer-encoding", b"connection"})
# App response headers that are framing, not content: we set our own.
_DROP_APP_HEADERS = frozenset({b"content-length", b"transfer-encoding", b"connection"})


class FnConfig(RouteConfig):
    """What the function's configuration (environment) says about routing, and the
    function's identity under the Fn contract."""

    __slots__ = ("app_id", "app_name", "fn_id", "fn_name", "max_body_bytes", "memory_mb")

    def __init__(self, default_route: Route | None = None, event_route: Route | None = None,
                 root_path: str = "", app_id: str = "", fn_id: str = "", app_name: str = "",
                 fn_name: str = "", memory_mb: int | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        super().__init__(default_route, event_route, root_path)
        self.app_id = app_id
        self.fn_id = fn_id
        self.app_name = app_name
        self.fn_name = fn_name
        self.memory_mb = memory_mb
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FnConfig:
        env = os.environ if env is None else env
        memory = env.get("FN_MEMORY", "")
        return cls(
            **cls.routes_from_env(env),  # type: ignore[arg-type]
            app_id=env.get("FN_APP_ID", ""),
            fn_id=env.get("FN_FN_ID", ""),
            app_name=env.get("FN_APP_NAME", ""),
            fn_name=env.get("FN_FN_NAME", ""),
            memory_mb=int(memory) if memory.isdigit() else None,
        )


class Rejection:
    """A call answered without running the app."""

    __slots__ = ("app_status", "error", "outer_status")

    def __init__(self, outer_status: int, app_status: int | None, error: str) -> None:
        self.outer_status = outer_status  # 200 (with an app-level status), 502 or 504
        self.app_status = app_status
        self.error = error


def parse_deadline(value: str) -> datetime | None:
    """Fn-Deadline is RFC 3339, possibly with nanoseconds and a 'Z'."""
    if not value:
        return None
    try:
        # Python 3.11's parser takes what the agent sends (Z, 9 fractional digits) and is
        # C-fast; the general path below is only for other spellings.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        if "." in text:
            head, _, rest = text.partition(".")
            digits = len(rest) - len(rest.lstrip("0123456789"))
            text = head + "." + rest[: min(digits, 6)].ljust(6, "0") + rest[digits:]
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_call(
    headers: HeaderList, body: bytes, config: FnConfig, body_size: int | None = None
) -> tuple[dict | Rejection, FnContext]:
    """Turn the agent's call into an ASGI HTTP scope (without server-specific keys), or
    into a Rejection answered without running the app; with the call's context either way.

    `body_size` is the size the agent sent, when the server kept only part of a body that
    is over the limit anyway.
    """
    fn: dict[bytes, bytes] = {}
    client_headers: HeaderList = []
    content_type: bytes | None = None
    for name, value in headers:
        if name.startswith(_HTTP_H):
            stripped = name[len(_HTTP_H) :]
            if stripped not in _DROP_CLIENT_HEADERS and stripped != b"content-type":
                client_headers.append((stripped, value))
        elif name == b"content-type":
            content_type = value
        else:
            # Agent headers (Fn-*, Opc-*, Oci-*, X-B3-*, Host, User-Agent...): context only.
            fn.setdefault(name, value)

    call_id = fn.get(b"fn-call-id", b"").decode("latin-1")
    intent = fn.get(b"fn-intent", b"").decode("latin-1").lower()
    ctx = FnContext(
        call_id=call_id,
        deadline=parse_deadline(fn.get(b"fn-deadline", b"").decode("latin-1")),
        intent=intent,
        invoke_type=fn.get(b"fn-invoke-type", b"").decode("latin-1").lower(),
        request_id=fn.get(b"opc-request-id", b"").decode("latin-1"),
        app_id=config.app_id,
        fn_id=config.fn_id,
        app_name=config.app_name,
        fn_name=config.fn_name,
        memory_mb=config.memory_mb,
        is_gateway_call=b"fn-http-method" in fn,
    )

    size = len(body) if body_size is None else body_size
    if size > config.max_body_bytes:
        return Rejection(
            200, 413, f"request body is {size} bytes; the limit is {config.max_body_bytes}"
        ), ctx

    scheme = "http"
    host: str | None = None
    if ctx.is_gateway_call:
        method = fn[b"fn-http-method"].decode("latin-1").upper()
        target = fn.get(b"fn-http-request-url", b"/").decode("latin-1")
        path, query, host, url_scheme = split_target(target)
        scheme = url_scheme or scheme
    else:
        is_event = intent == "cloudevent"
        route = config.route_for(is_event)
        if route is None:
            return Rejection(200, 404, config.missing_route_error(
                is_event, "a cloudevent" if is_event else None)), ctx
        method = route.method
        path, query, _, _ = split_target(route.path)

    if content_type is not None:
        client_headers.append((b"content-type", content_type))
    if body or method not in ("GET", "HEAD"):
        client_headers.append((b"content-length", str(len(body)).encode()))
    if host is not None and not any(n == b"host" for n, _ in client_headers):
        client_headers.append((b"host", host.encode("latin-1")))

    scope = http_scope(method, path, query, client_headers, scheme=scheme,
                       root_path=root_path_for(path, config.root_path),
                       server=server_from_host(host, scheme))
    return scope, ctx


def _title(name: bytes) -> bytes:
    return b"-".join(part[:1].upper() + part[1:] for part in name.split(b"-"))


def encode_app_response(app_status: int, app_headers: Iterable[tuple[bytes, bytes]], body: bytes,
                        keep_alive: bool = True) -> bytes:
    """The outer HTTP response for an app response: always outer 200."""
    out = [
        b"HTTP/1.1 200 OK\r\nFn-Http-Status: ",
        str(app_status).encode(),
        b"\r\n",
    ]
    has_content_type = False
    for name, value in app_headers:
        lname = name.lower()
        if lname in _DROP_APP_HEADERS:
            continue
        if lname == b"content-type":
            has_content_type = True
            out += (b"Content-Type: ", value, b"\r\n")
        else:
            out += (b"Fn-Http-H-", _title(lname), b": ", value, b"\r\n")
    if not has_content_type and body:
        out.append(b"Content-Type: application/octet-stream\r\n")
    out += (
        _FDK_HEADERS,
        b"Content-Length: ",
        str(len(body)).encode(),
        b"\r\n\r\n" if keep_alive else b"\r\nConnection: close\r\n\r\n",
        body,
    )
    return b"".join(out)


_REASONS = {200: b"OK", 502: b"Bad Gateway", 504: b"Gateway Timeout"}


def error_body(message: str, call_id: str, status: int) -> bytes:
    return json.dumps({"error": message, "status": status, "call_id": call_id}).encode()


def encode_outer_error(outer_status: int, message: str, call_id: str,
                       keep_alive: bool = True) -> bytes:
    """Outer 502 (function failed) or 504 (timed out), with a JSON body naming the call."""
    assert outer_status in (502, 504)
    body = error_body(message, call_id, outer_status)
    return b"".join(
        (
            b"HTTP/1.1 ",
            str(outer_status).encode(),
            b" ",
            _REASONS[outer_status],
            b"\r\nContent-Type: application/json\r\n",
            _FDK_HEADERS,
            b"Content-Length: ",
            str(len(body)).encode(),
            b"\r\n\r\n" if keep_alive else b"\r\nConnection: close\r\n\r\n",
            body,
        )
    )


def encode_rejection(rejection: Rejection, call_id: str, keep_alive: bool = True) -> bytes:
    if rejection.outer_status == 200:
        status = rejection.app_status or 400
        body = error_body(rejection.error, call_id, status)
        return encode_app_response(
            status, [(b"content-type", b"application/json")], body, keep_alive
        )
    return encode_outer_error(rejection.outer_status, rejection.error, call_id, keep_alive)


def encode_result(result: Response | Failure, call_id: str, keep_alive: bool = True) -> bytes:
    """The outer response for the shared cycle's outcome: a timeout is 504, every other
    failure 502 (the platform keeps the container), an app response travels in a 200."""
    if isinstance(result, Response):
        return encode_app_response(result.status, result.headers, result.body, keep_alive)
    return encode_outer_error(504 if result.kind == TIMEOUT else 502, result.message,
                              call_id, keep_alive)
