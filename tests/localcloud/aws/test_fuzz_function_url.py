"""Fuzzing the local Lambda function URL (issue 16): hostile raw requests get a 4xx (or a
closed connection), never a 5xx or a traceback, and another client keeps being answered
within 1 s, also while slow senders hold connections open."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from io import StringIO

import httpx
import pytest

from fastfn.localcloud.aws.function_url import FunctionURL

from support.fuzz import (
    CORPUS_NAMES,
    Watchdog,
    address_of,
    assert_hostile_request_refused,
    assert_slow_senders_harmless,
    hostile_request,
    watch_get,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url(warm_function) -> Iterator[FunctionURL]:  # type: ignore[no-untyped-def]
    with FunctionURL(warm_function) as running:
        assert httpx.get(running.url + "/echo", timeout=60).status_code == 200
        yield running


def other_client(url: FunctionURL) -> Watchdog:
    return watch_get(url.url + "/echo")


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_hostile_raw_request_is_not_a_5xx_nor_a_stall(url: FunctionURL, name: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = StringIO()  # socketserver prints a handler's unhandled exception there
    monkeypatch.setattr(sys, "stderr", stderr)
    # Any status below 500 passes here: the app behind /echo may accept some of these.
    assert_hostile_request_refused(address_of(url.url), hostile_request(name, b"/echo/"),
                                   other_client(url), server="function URL", lowest=0)
    assert "Traceback" not in stderr.getvalue()


def test_slow_senders_do_not_hold_up_other_clients(url: FunctionURL) -> None:
    assert_slow_senders_harmless(address_of(url.url), other_client(url), count=20,
                                 head=b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
