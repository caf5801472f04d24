"""API Gateway REST API (payload 1.0), with or without multiValueHeaders.

The stage (or a custom domain's base path) is `requestContext.path` minus `path`: it
becomes the ASGI `root_path`, so the app's URLs keep it. Query values arrive decoded and
are encoded again for the query string.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastfn.runtime.asgi.cycle import Response
from fastfn.runtime.asgi.scope import http_scope, root_path_for, server_from_host
from fastfn.runtime.aws.events.common import (
    EventError,
    HttpCall,
    decode_body,
    encode_body,
    grouped,
    headers_from,
    host_header,
)
from fastfn.runtime.routes import RouteConfig

SOURCE = "aws:apigateway"


def matches(event: object) -> bool:
    return (isinstance(event, dict) and "httpMethod" in event
            and isinstance(event.get("requestContext"), dict)
            and "elb" not in event["requestContext"])


def query_from(event: dict) -> str:
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, dict) and multi:
        pairs = [(k, v) for k, values in multi.items() for v in values or ()]
        return urlencode(pairs)
    single = event.get("queryStringParameters")
    if isinstance(single, dict) and single:
        return urlencode(list(single.items()))
    return ""


def request(event: dict, config: RouteConfig) -> HttpCall:
    method = event.get("httpMethod")
    path = event.get("path") or "/"
    if not isinstance(method, str) or not method:
        raise EventError("event field 'httpMethod' must be a non-empty string")
    if not isinstance(path, str) or not path.startswith("/"):
        raise EventError("event field 'path' must be a string starting with '/'")
    headers = headers_from(event.get("headers"), event.get("multiValueHeaders"))
    context = event["requestContext"]
    full = context.get("path")
    root_path = ""
    if isinstance(full, str) and full != path and full.endswith(path.rstrip("/") or "/"):
        root_path = full[: len(full) - len(path.rstrip("/"))].rstrip("/")
        path = full
    else:
        root_path = root_path_for(path, config.root_path)
    proto = (context.get("protocol") or "HTTP/1.1").rpartition("/")[2]
    scheme = "https"
    source_ip = (context.get("identity") or {}).get("sourceIp")
    scope = http_scope(method.upper(), path, query_from(event), headers, scheme=scheme,
                       root_path=root_path, server=server_from_host(host_header(headers),
                                                                    scheme),
                       client=(source_ip, 0) if source_ip else None)
    scope["http_version"] = proto if proto in ("1.0", "1.1", "2") else "1.1"
    return HttpCall(scope, decode_body(event))


def result(response: Response, event: dict) -> dict:
    body, is_b64 = encode_body(response.body, response.headers)
    multi = grouped(response.headers)
    return {
        "statusCode": response.status,
        # Both forms, as API Gateway accepts: the last value in headers, every value in
        # multiValueHeaders (which API Gateway prefers when both name a header).
        "headers": {name: values[-1] for name, values in multi.items()},
        "multiValueHeaders": multi,
        "body": body,
        "isBase64Encoded": is_b64,
    }
