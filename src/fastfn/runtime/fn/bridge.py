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
from urllib.parse import urlsplit

from fastfn import __version__
from fastfn.runtime.context import FnContext

HeaderList = list[tuple[bytes, bytes]]

# OCI Functions limit for request and response bodies.
MAX_BODY_BYTES = 6 * 1024 * 1024

ENV_DEFAULT_ROUTE = "FASTFN_DEFAULT_ROUTE"
ENV_EVENT_ROUTE = "FASTFN_EVENT_ROUTE"
ENV_ROOT_PATH = "FASTFN_ROOT_PATH"

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


class RouteError(ValueError):
    pass


# Plain slotted classes, not dataclasses: these are defined on every cold start, and a
# dataclass costs about a millisecond to define.
class Route:
    __slots__ = ("method", "path")

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path  # may include a query string

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Route) and (self.method, self.path) == (other.method,
                                                                         other.path)

    def __hash__(self) -> int:
        return hash((self.method, self.path))

    def __repr__(self) -> str:
        return f"Route({self.method!r}, {self.path!r})"

    @classmethod
    def parse(cls, value: str, key: str) -> Route:
        parts = value.split()
        if len(parts) == 1 and parts[0].startswith("/"):
            return cls("POST", parts[0])
        if len(parts) != 2 or not parts[1].startswith("/"):
            raise RouteError(f"{key} must look like 'POST /items', got {value!r}")
        return cls(parts[0].upper(), parts[1])


class FnConfig:
    """What the function's configuration (environment) says about routing."""

    __slots__ = ("app_id", "app_name", "default_route", "event_route", "fn_id", "fn_name",
                 "max_body_bytes", "memory_mb", "root_path")

    def __init__(self, default_route: Route | None = None, event_route: Route | None = None,
                 root_path: str = "", app_id: str = "", fn_id: str = "", app_name: str = "",
                 fn_name: str = "", memory_mb: int | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.default_route = default_route
        self.event_route = event_route
        self.root_path = root_path
        self.app_id = app_id
        self.fn_id = fn_id
        self.app_name = app_name
        self.fn_name = fn_name
        self.memory_mb = memory_mb
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FnConfig:
        env = os.environ if env is None else env
        default = env.get(ENV_DEFAULT_ROUTE)
        event = env.get(ENV_EVENT_ROUTE)
        memory = env.get("FN_MEMORY", "")
        return cls(
            default_route=Route.parse(default, ENV_DEFAULT_ROUTE) if default else None,
            event_route=Route.parse(event, ENV_EVENT_ROUTE) if event else None,
            root_path=env.get(ENV_ROOT_PATH, "").rstrip("/"),
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


def _split_target(target: str) -> tuple[str, str, str | None, str | None]:
    """Fn-Http-Request-Url is path-only on OCI and absolute on OSS Fn: accept both."""
    if target.startswith("/"):
        # The common case on OCI, and on every direct invoke's route: no urlsplit needed.
        path, _, query = target.partition("?")
        return path, query.partition("#")[0], None, None
    parts = urlsplit(target)
    path = parts.path or "/"
    host = parts.netloc.rpartition("@")[2] or None
    scheme = parts.scheme or None
    return path, parts.query, host, scheme


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
        path, query, host, url_scheme = _split_target(target)
        scheme = url_scheme or scheme
    else:
        route = config.event_route if intent == "cloudevent" else None
        route = route or config.default_route
        if route is None:
            what = "a cloudevent" if intent == "cloudevent" else "a direct invoke"
            key = ENV_EVENT_ROUTE if intent == "cloudevent" else ENV_DEFAULT_ROUTE
            return Rejection(
                200, 404, f"{what} has no method or path and no {key} is configured"
            ), ctx
        method = route.method
        path, query, _, _ = _split_target(route.path)

    if content_type is not None:
        client_headers.append((b"content-type", content_type))
    if body or method not in ("GET", "HEAD"):
        client_headers.append((b"content-length", str(len(body)).encode()))
    if host is not None and not any(n == b"host" for n, _ in client_headers):
        client_headers.append((b"host", host.encode("latin-1")))

    root_path = ""
    prefix = config.root_path
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        root_path = prefix

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": _unquote_path(path),
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "root_path": root_path,
        "headers": client_headers,
        "client": None,
        "server": _server_from_host(host, scheme),
    }
    return scope, ctx


def _unquote_path(path: str) -> str:
    if "%" not in path:
        return path
    from urllib.parse import unquote

    return unquote(path)


def _server_from_host(host: str | None, scheme: str) -> tuple[str, int] | None:
    if not host:
        return None
    default = 443 if scheme == "https" else 80
    if host.startswith("["):
        address, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":")
        return address, int(port) if port.isdigit() else default
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, default


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
