"""A stand-in for GitHub's REST API on loopback (a real HTTP server), recording requests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE_LIMIT = {"resources": {"core": {"limit": 5000, "remaining": 4999, "reset": 1700000000,
                                     "used": 1}}, "rate": {"limit": 5000}}
REPO = {"full_name": "octo/hello", "description": "Hello", "stargazers_count": 42,
        "open_issues_count": 3, "default_branch": "main"}
COMMITS = [{"sha": "abcdef0123456789", "commit": {"message": "Fix it\n\nlong text"}},
           {"sha": "1234567890abcdef", "commit": {"message": "Start"}}]


class FakeGitHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers.items())))
        path = self.path.split("?")[0]
        answers = {"/rate_limit": RATE_LIMIT, "/repos/octo/hello": REPO,
                   "/repos/octo/hello/commits": COMMITS}
        if path not in answers:
            self._json(404, {"message": "Not Found"})
            return
        self._json(200, answers[path])

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
