"""The pure parts of the Fn runtime: FN_LISTENER parsing and call translation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fastfn.runtime.fn.bridge import (
    FnConfig,
    Rejection,
    Route,
    RouteError,
    build_call,
    encode_app_response,
    parse_deadline,
)
from fastfn.runtime.fn.listener import ListenerError, ListenerPaths


def test_unix_prefix_is_stripped_as_a_prefix_not_a_character_set():
    # fdk-python's lstrip("unix:") would eat the leading "/unix" of this path too.
    paths = ListenerPaths.from_env_value("unix:/unix/iofs/lsnr.sock")
    assert str(paths.listener) == "/unix/iofs/lsnr.sock"
    assert str(paths.phony) == "/unix/iofs/phonylsnr.sock"


@pytest.mark.parametrize("value,message", [
    (None, "FN_LISTENER is not set"),
    ("/tmp/lsnr.sock", "must start with 'unix:'"),
    ("unix:relative/lsnr.sock", "absolute"),
    ("unix:/" + "d" * 120 + "/lsnr.sock", "longer than 107"),
])
def test_bad_listener_values_are_explained(value, message):
    with pytest.raises(ListenerError, match=message):
        ListenerPaths.from_env_value(value)


@pytest.mark.parametrize("text,expected", [
    ("2026-11-23T10:00:00.123456789Z", datetime(2026, 11, 23, 10, 0, 0, 123456, UTC)),
    ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)),
    ("2026-11-23T11:00:00.5+01:00", datetime(2026, 11, 23, 10, 0, 0, 500000, UTC)),
])
def test_deadline_parsing(text, expected):
    assert parse_deadline(text) == expected


def test_garbage_deadline_is_ignored_not_fatal():
    assert parse_deadline("tomorrow") is None


def test_route_parsing():
    assert Route.parse("GET /health", "K") == Route("GET", "/health")
    assert Route.parse("/items", "K") == Route("POST", "/items")
    with pytest.raises(RouteError, match="FASTFN_DEFAULT_ROUTE"):
        Route.parse("items", "FASTFN_DEFAULT_ROUTE")


def _headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in pairs]


def test_direct_invoke_without_default_route_is_a_404_naming_the_setting():
    result, ctx = build_call(_headers(("Fn-Call-Id", "x")), b"{}", FnConfig())
    assert isinstance(result, Rejection)
    assert (result.outer_status, result.app_status) == (200, 404)
    assert "FASTFN_DEFAULT_ROUTE" in result.error
    assert ctx.call_id == "x"


def test_prefix_only_becomes_root_path_when_the_path_is_under_it():
    config = FnConfig(root_path="/v1")
    inside, _ = build_call(_headers(("Fn-Http-Method", "GET"),
                                    ("Fn-Http-Request-Url", "/v1/items")), b"", config)
    outside, _ = build_call(_headers(("Fn-Http-Method", "GET"),
                                     ("Fn-Http-Request-Url", "/v10/items")), b"", config)
    assert isinstance(inside, dict) and isinstance(outside, dict)
    assert (inside["root_path"], inside["path"]) == ("/v1", "/v1/items")
    assert (outside["root_path"], outside["path"]) == ("", "/v10/items")


def test_percent_encoded_path_is_decoded_in_path_and_raw_in_raw_path():
    scope, _ = build_call(_headers(("Fn-Http-Method", "GET"),
                                   ("Fn-Http-Request-Url", "/files/a%20b")), b"", FnConfig())
    assert isinstance(scope, dict)
    assert scope["path"] == "/files/a b"
    assert scope["raw_path"] == b"/files/a%20b"


def test_client_framing_headers_are_recomputed_from_the_body():
    scope, _ = build_call(
        _headers(("Fn-Http-Method", "POST"), ("Fn-Http-Request-Url", "/x"),
                 ("Fn-Http-H-Content-Length", "999"), ("Fn-Http-H-Transfer-Encoding", "chunked"),
                 ("Content-Type", "application/json")),
        b"{}", FnConfig())
    assert isinstance(scope, dict)
    assert dict(scope["headers"]) == {b"content-type": b"application/json",
                                      b"content-length": b"2"}


def test_app_response_encoding_is_outer_200_with_prefixed_headers():
    raw = encode_app_response(
        404, [(b"content-type", b"text/plain"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"),
              (b"content-length", b"2")], b"no")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Fn-Http-Status: 404" in lines
    assert b"Content-Type: text/plain" in lines
    assert lines.count(b"Fn-Http-H-Set-Cookie: a=1") == 1
    assert lines.count(b"Fn-Http-H-Set-Cookie: b=2") == 1
    assert b"Content-Length: 2" in lines
    assert body == b"no"


def test_serve_arguments():
    from fastfn.runtime.serve import UsageError, parse_args

    assert parse_args(["main:app", "--app-dir", "src", "--log-level=debug"]) == (
        "main:app", "src", "debug")
    with pytest.raises(UsageError, match="unknown option --port"):
        parse_args(["main:app", "--port", "80"])
    with pytest.raises(UsageError, match="--app-dir needs a value"):
        parse_args(["main:app", "--app-dir"])
