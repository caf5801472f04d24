"""Fuzzing the local Lambda function URL (issue 16): hostile raw requests get a 4xx (or a
closed connection), never a 5xx or a traceback, and another client keeps being answered
within 1 s, also while slow senders hold connections open."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from io import StringIO
from urllib.parse import urlsplit

import httpx
import pytest

from fastfn.localcloud.aws.function_url import FunctionURL

from support.hostile_http import CORPUS, SlowSenders, Watchdog, exchange, status_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url(warm_function) -> Iterator[FunctionURL]:  # type: ignore[no-untyped-def]
    with FunctionURL(warm_function) as running:
        assert httpx.get(running.url + "/echo", timeout=60).status_code == 200
        yield running


def address(url: FunctionURL) -> tuple[str, int]:
    parts = urlsplit(url.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def other_client(url: FunctionURL) -> Watchdog:
    client = httpx.Client(base_url=url.url, timeout=10)

    def probe() -> None:
        assert client.get("/echo").status_code == 200

    return Watchdog(probe)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_raw_request_is_not_a_5xx_nor_a_stall(url: FunctionURL, name: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = StringIO()  # socketserver prints a handler's unhandled exception there
    monkeypatch.setattr(sys, "stderr", stderr)
    data = CORPUS[name].replace(b" /n/", b" /echo/", 1)
    with other_client(url) as watchdog:
        started = time.monotonic()
        answer = exchange(address(url), data)
        took = time.monotonic() - started
        time.sleep(0.1)
    status = status_of(answer)
    assert status is None or status < 500, (status, answer[:300])
    assert "Traceback" not in stderr.getvalue() and b"Traceback" not in answer
    assert took < 10, f"the function URL kept the connection {took:.1f} s"
    watchdog.assert_never_stalled()


def test_slow_senders_do_not_hold_up_other_clients(url: FunctionURL) -> None:
    slow = SlowSenders(address(url), count=20,
                       head=b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        with other_client(url) as watchdog:
            slow.dribble(3.0)
    finally:
        slow.close()
    watchdog.assert_never_stalled()
