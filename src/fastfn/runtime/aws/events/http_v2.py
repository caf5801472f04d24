"""HTTP API payload 2.0, which is also the Lambda function URL event.

Cookies travel apart from headers both ways: the request's `cookies` array becomes one
Cookie header joined with "; ", the app's Set-Cookie headers become the result's
`cookies`. Other repeated headers are joined with "," as the 2.0 format does.
"""

from __future__ import annotations

from fastfn.runtime.asgi.cycle import Response
from fastfn.runtime.asgi.scope import http_scope, root_path_for, server_from_host
from fastfn.runtime.aws.events.common import (
    EventError,
    HttpCall,
    decode_body,
    encode_body,
    grouped,
    headers_from,
)
from fastfn.runtime.routes import RouteConfig


def matches(event: object) -> bool:
    return (isinstance(event, dict) and event.get("version") == "2.0"
            and isinstance(event.get("requestContext"), dict)
            and "http" in event["requestContext"])


def source(event: dict) -> str:
    domain = str(event["requestContext"].get("domainName") or "")
    local = domain.startswith(("localhost", "127.0.0.1"))  # fastfn's local function URL
    return "aws:lambda-url" if ".lambda-url." in domain or local else "aws:apigateway"


def request(event: dict, config: RouteConfig) -> HttpCall:
    http = event["requestContext"]["http"]
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        raise EventError("event field 'requestContext.http.method' must be a string")
    path = event.get("rawPath") or http.get("path") or "/"
    if not isinstance(path, str) or not path.startswith("/"):
        raise EventError("event field 'rawPath' must be a string starting with '/'")
    query = event.get("rawQueryString") or ""
    if not isinstance(query, str):
        raise EventError("event field 'rawQueryString' must be a string")
    headers = [(k, v) for k, v in headers_from(event.get("headers"), None) if k != b"cookie"]
    cookies = event.get("cookies")
    if cookies:
        if not isinstance(cookies, list):
            raise EventError("event field 'cookies' must be a list of strings")
        headers.append((b"cookie", "; ".join(map(str, cookies)).encode("latin-1", "replace")))
    stage = event["requestContext"].get("stage") or "$default"
    prefix = f"/{stage}"
    root_path = (prefix if stage != "$default" and root_path_for(path, prefix)
                 else root_path_for(path, config.root_path))
    host = event["requestContext"].get("domainName")
    source_ip = http.get("sourceIp")
    scope = http_scope(http["method"].upper(), path, query, headers, scheme="https",
                       root_path=root_path, server=server_from_host(host, "https"),
                       client=(source_ip, 0) if source_ip else None)
    return HttpCall(scope, decode_body(event))


def result(response: Response, event: dict) -> dict:
    body, is_b64 = encode_body(response.body, response.headers)
    multi = grouped(response.headers)
    cookies = multi.pop("set-cookie", [])
    out: dict = {
        "statusCode": response.status,
        "headers": {name: ",".join(values) for name, values in multi.items()},
        "body": body,
        "isBase64Encoded": is_b64,
    }
    if cookies:
        out["cookies"] = cookies
    return out
