"""The post-deploy smoke test bypasses caches: a fresh query parameter every time and
no-cache headers, against a real HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from fastfn.deploy.targets.pool.apply import smoke


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    seen: list[tuple[str, str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Cache-Control", ""),
                         self.headers.get("Pragma", "")))
            self.send_response(503 if self.path.startswith("/health/db") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()


def test_every_probe_bypasses_caches(server: tuple[str, list[tuple[str, str, str]]]) -> None:
    base, seen = server
    assert smoke(base + "/health") == 200
    assert smoke(base + "/health?x=1") == 200
    assert smoke(base + "/health/db") == 503
    first, second, third = seen
    assert first[0].startswith("/health?fastfn_nocache=")
    assert second[0].startswith("/health?x=1&fastfn_nocache=")
    assert first[0] != third[0].replace("/db", "")
    assert all(s[1] == "no-cache, no-store" and s[2] == "no-cache" for s in seen)


def test_nothing_listening_is_named() -> None:
    assert smoke("http://127.0.0.1:9/health", timeout_s=2) in ("ConnectionRefusedError",
                                                                "URLError")
