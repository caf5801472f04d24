"""Building an ASGI scope from a request's parts, as every platform does."""

from __future__ import annotations

import pytest

from fastfn.runtime.asgi.scope import http_scope, root_path_for, server_from_host, split_target


def test_percent_encoded_path_is_decoded_and_raw_kept() -> None:
    scope = http_scope("GET", "/a%20b/%C3%A9", "q=1", [])
    assert scope["path"] == "/a b/é"
    assert scope["raw_path"] == b"/a%20b/%C3%A9"
    assert scope["query_string"] == b"q=1"


@pytest.mark.parametrize(("target", "expected"), [
    ("/items?x=1#frag", ("/items", "x=1", None, None)),
    ("https://u@h.example:8443/v1/items?x=1", ("/v1/items", "x=1", "h.example:8443", "https")),
    ("http://h", ("/", "", "h", "http")),
])
def test_split_target(target, expected) -> None:
    assert split_target(target) == expected


@pytest.mark.parametrize(("path", "prefix", "root"), [
    ("/v1/items", "/v1", "/v1"), ("/v1", "/v1", "/v1"), ("/v10/items", "/v1", ""),
    ("/items", "", ""),
])
def test_root_path_only_on_a_segment_boundary(path, prefix, root) -> None:
    assert root_path_for(path, prefix) == root


@pytest.mark.parametrize(("host", "scheme", "server"), [
    ("h:81", "http", ("h", 81)), ("h", "https", ("h", 443)), ("[::1]:9", "http", ("::1", 9)),
    ("[::1]", "http", ("::1", 80)), (None, "http", None),
])
def test_server_from_host(host, scheme, server) -> None:
    assert server_from_host(host, scheme) == server
