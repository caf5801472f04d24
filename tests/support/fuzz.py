"""The fuzz harness of the local servers' tests: a corpus of hostile raw requests, a raw
socket exchange, slow senders, a watchdog client whose answers must keep coming, and the
checks every server must pass (never a 5xx, never a traceback, never a stall).

A server's test module keeps only what is its own: how to start it, which path its
requests go to, and which call stands for "another client"."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

HOST = b"Host: 127.0.0.1\r\n"

# Requests no client library would send. Each must get a 4xx (or a closed connection),
# never a 5xx, and must not hold up anyone else.
CORPUS: dict[str, bytes] = {
    "huge header value": b"GET /n/ HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 200_000
    + b"\r\n\r\n",
    "huge authorization": b"GET /n/ HTTP/1.1\r\n" + HOST + b"Authorization: Signature "
    + b'a="' * 30_000 + b"\r\n\r\n",
    "many headers": b"GET /n/ HTTP/1.1\r\n" + HOST
    + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n",
    "huge path": b"GET /n/" + b"a" * 100_000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
    "no version": b"GET /\r\n\r\n",
    "bad version": b"GET / HTTP/9.9\r\n" + HOST + b"\r\n",
    "binary garbage": bytes(range(256)) * 4 + b"\r\n\r\n",
    "header without colon": b"GET /n/ HTTP/1.1\r\n" + HOST + b"NoColonHere\r\n\r\n",
    "nul in header": b"GET /n/ HTTP/1.1\r\n" + HOST + b"X-A: a\x00b\r\n\r\n",
    "obs-fold header": b"GET /n/ HTTP/1.1\r\n" + HOST + b"X-A: a\r\n  folded\r\n\r\n",
    "negative content-length": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Length: -1\r\n\r\n",
    "text content-length": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Length: abc\r\n\r\n",
    "enormous content-length": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Length: 99999999999999999999999\r\n\r\n{}",
    "two content-lengths": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
    "content-length and chunked": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad chunk size": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "content-length longer than body": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\": 1}",
    "content-length shorter than body": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{\"a\": 1}xx",
    "invalid json": b"POST /n/x/b HTTP/1.1\r\n" + HOST
    + b"Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{\"a\":",
    "bad percent-encoding": b"GET /n/%zz/b/%ff%fe/o/%00 HTTP/1.1\r\n" + HOST + b"\r\n",
    "dot-dot path": b"GET /n/../../../../etc/passwd HTTP/1.1\r\n" + HOST + b"\r\n",
    "encoded dot-dot path": b"GET /n/x/b/y/o/%2e%2e%2f%2e%2e%2fetc%2fpasswd HTTP/1.1\r\n"
    + HOST + b"\r\n",
    "absolute-form target": b"GET http://evil.example/n/ HTTP/1.1\r\n" + HOST + b"\r\n",
    "asterisk target": b"OPTIONS * HTTP/1.1\r\n" + HOST + b"\r\n",
    "unknown method": b"BREW /n/ HTTP/1.1\r\n" + HOST + b"\r\n",
    "bad date": b"GET /n/ HTTP/1.1\r\n" + HOST + b"Date: Tuesday the 45th\r\n"
    b"Authorization: Signature version=\"1\",keyId=\"a/b/c\",algorithm=\"rsa-sha256\","
    b"headers=\"date\",signature=\"AAAA\"\r\n\r\n",
}


CORPUS_NAMES = sorted(CORPUS)


def hostile_request(name: str, path: bytes = b"/n/") -> bytes:
    """The corpus request `name`, its target moved from `/n/` to `path` (a server's own)."""
    return CORPUS[name].replace(b" /n/", b" " + path, 1)


def address_of(url: str) -> tuple[str, int]:
    """The (host, port) a raw socket connects to for `url`."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return parts.hostname, parts.port


def status_of(answer: bytes) -> int | None:
    """The status code of the first response in `answer`, None if there is none."""
    if not answer.startswith(b"HTTP/"):
        return None
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def exchange(address: tuple[str, int], data: bytes, timeout: float = 15.0) -> bytes:
    """Send `data`, close our side, read until the server closes or `timeout` passes."""
    with socket.create_connection(address, timeout=timeout) as conn:
        try:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:  # the server may answer and close before reading everything
            pass
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


class SlowSenders:
    """Connections that dribble a request head one byte at a time (slowloris)."""

    def __init__(self, address: tuple[str, int], count: int = 20,
                 head: bytes = b"POST /n/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") -> None:
        self.conns = [socket.create_connection(address, timeout=5) for _ in range(count)]
        self.head = head

    def dribble(self, seconds: float, every: float = 0.05) -> None:
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            for conn in self.conns:
                byte = self.head[i:i + 1] if i < len(self.head) else b"a"
                with contextlib.suppress(OSError):
                    conn.send(byte)
            i += 1
            time.sleep(every)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


class Watchdog:
    """Another client asking `probe` over and over; records how long each answer took."""

    def __init__(self, probe: Callable[[], None]) -> None:
        self.probe = probe
        self.took: list[float] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.probe()
            except BaseException as exc:  # recorded, the test reports it
                self.errors.append(exc)
            self.took.append(time.monotonic() - started)
            time.sleep(0.02)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + 10  # a few answers at least, however quick the test
        while len(self.took) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        self._thread.join(timeout=30)

    def assert_never_stalled(self, limit: float = 1.0) -> None:
        assert not self.errors, f"the other client failed: {self.errors[:3]}"
        assert len(self.took) >= 3, "the other client was hardly served"
        assert max(self.took) < limit, f"the other client waited {max(self.took):.2f} s"


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


def watch_get(url: str, status: int = 200) -> Watchdog:
    """A watchdog that GETs `url` over one kept-alive connection and expects `status`."""
    client = httpx.Client(timeout=10)

    def probe() -> None:
        assert client.get(url).status_code == status

    return Watchdog(probe)


def assert_hostile_request_refused(address: tuple[str, int], data: bytes, watchdog: Watchdog,
                                   *, server: str, lowest: int = 400) -> bytes:
    """Send `data` raw while `watchdog` keeps asking: the answer is a status from `lowest`
    to 499 (or none: a closed connection), has no traceback, comes within 10 s, and the
    other client is never held up. Returns the answer for the caller's own checks."""
    with watchdog:
        started = time.monotonic()
        answer = exchange(address, data)
        took = time.monotonic() - started
        time.sleep(0.1)
    status = status_of(answer)
    assert status is None or lowest <= status < 500, (status, answer[:300])
    assert b"Traceback" not in answer
    assert took < 10, f"the {server} kept the connection {took:.1f} s"
    watchdog.assert_never_stalled()
    return answer


def assert_slow_senders_harmless(address: tuple[str, int], watchdog: Watchdog, *,
                                 count: int, head: bytes | None = None,
                                 seconds: float = 3.0,
                                 meanwhile: Callable[[], None] | None = None) -> None:
    """`count` connections dribble `head` for `seconds` while `watchdog` keeps asking (and
    `meanwhile` runs its own check after the dribble): the other client is never held up."""
    slow = (SlowSenders(address, count=count) if head is None
            else SlowSenders(address, count=count, head=head))
    try:
        with watchdog:
            slow.dribble(seconds)
            if meanwhile is not None:
                meanwhile()
    finally:
        slow.close()
    watchdog.assert_never_stalled()
