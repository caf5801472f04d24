"""An ASGI HTTP scope from the parts of a request, whatever platform carried it. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit

HeaderList = list[tuple[bytes, bytes]]


def split_target(target: str) -> tuple[str, str, str | None, str | None]:
    """(path, query, host, scheme) of a request target, path-only or absolute."""
    if target.startswith("/"):
        # The common case: no urlsplit needed.
        path, _, query = target.partition("?")
        return path, query.partition("#")[0], None, None
    parts = urlsplit(target)
    path = parts.path or "/"
    host = parts.netloc.rpartition("@")[2] or None
    scheme = parts.scheme or None
    return path, parts.query, host, scheme


def root_path_for(path: str, prefix: str) -> str:
    """The deployment prefix as ASGI `root_path` when the path is under it, else ''."""
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return prefix
    return ""


def http_scope(method: str, path: str, query: str | bytes, headers: HeaderList, *,
               scheme: str = "http", root_path: str = "",
               server: tuple[str, int] | None = None,
               client: tuple[str, int] | None = None) -> dict:
    """`path` is the raw (still percent-encoded) path; `headers` lower-case names."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": unquote_path(path),
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query if isinstance(query, bytes)
        else query.encode("latin-1", "replace"),
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": server,
    }


def unquote_path(path: str) -> str:
    if "%" not in path:
        return path
    from urllib.parse import unquote

    return unquote(path)


def server_from_host(host: str | None, scheme: str) -> tuple[str, int] | None:
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
