"""Application Load Balancer target-group events, both header modes.

ALB does not URL-decode query parameters, so they are joined as they came. The result
uses `multiValueHeaders` exactly when the request did (the target group's multi-value
mode); in single-value mode repeated response headers are joined with ", " except
Set-Cookie, which cannot be joined: only its last value is sent, with a warning.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

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

SOURCE = "aws:elb"
log = logging.getLogger("fastfn.lambda")


def matches(event: object) -> bool:
    return (isinstance(event, dict) and isinstance(event.get("requestContext"), dict)
            and "elb" in event["requestContext"])


def _query(event: dict) -> str:
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, dict) and multi:
        return "&".join(f"{k}={v}" for k, values in multi.items() for v in values or ())
    single = event.get("queryStringParameters")
    if isinstance(single, dict) and single:
        return "&".join(f"{k}={v}" for k, v in single.items())
    return ""


def request(event: dict, config: RouteConfig) -> HttpCall:
    method = event.get("httpMethod")
    path = event.get("path") or "/"
    if not isinstance(method, str) or not method:
        raise EventError("event field 'httpMethod' must be a non-empty string")
    if not isinstance(path, str) or not path.startswith("/"):
        raise EventError("event field 'path' must be a string starting with '/'")
    headers = headers_from(event.get("headers"), event.get("multiValueHeaders"))
    proto = next((v.decode() for k, v in headers if k == b"x-forwarded-proto"), "http")
    scheme = proto if proto in ("http", "https") else "http"
    scope = http_scope(method.upper(), path, _query(event), headers, scheme=scheme,
                       root_path=root_path_for(path, config.root_path),
                       server=server_from_host(host_header(headers), scheme))
    return HttpCall(scope, decode_body(event))


def result(response: Response, event: dict) -> dict:
    body, is_b64 = encode_body(response.body, response.headers)
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    out: dict = {
        "statusCode": response.status,
        "statusDescription": f"{response.status} {phrase}".rstrip(),
        "body": body,
        "isBase64Encoded": is_b64,
    }
    multi = grouped(response.headers)
    if "multiValueHeaders" in event:
        out["multiValueHeaders"] = multi
        return out
    cookies = multi.get("set-cookie", [])
    if len(cookies) > 1:
        log.warning("%d Set-Cookie headers but the target group is in single-value header "
                    "mode: only the last is sent (turn on multi-value headers)", len(cookies))
    out["headers"] = {name: (values[-1] if name == "set-cookie" else ", ".join(values))
                      for name, values in multi.items()}
    return out
