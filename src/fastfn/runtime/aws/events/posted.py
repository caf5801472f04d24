"""A call without method or path (an event, a direct invoke) as a POST of its JSON to the
configured route, and the app's answer back as a Lambda result."""

from __future__ import annotations

import json

from fastfn.runtime.asgi.cycle import Response
from fastfn.runtime.asgi.scope import http_scope, split_target
from fastfn.runtime.aws.events.common import EventError, HttpCall, header_value
from fastfn.runtime.routes import RouteConfig


def call(config: RouteConfig, payload: object, *, is_event: bool, source: str,
         what: str) -> HttpCall:
    route = config.route_for(is_event)
    if route is None:
        raise EventError(config.missing_route_error(is_event, what))
    path, query, _, _ = split_target(route.path)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()),
               (b"x-fastfn-event-source", source.encode())]
    return HttpCall(http_scope(route.method, path, query, headers, scheme="https"), body)


def answer(response: Response) -> object:
    """The app's body as the invoke's result: JSON decoded when it is JSON, else text."""
    content_type = (header_value(response.headers, b"content-type") or b"").lower()
    if b"json" in content_type and response.body:
        try:
            return json.loads(response.body)
        except ValueError:
            pass
    return response.body.decode("utf-8", "replace")
