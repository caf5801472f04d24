"""Steady request load through a local load balancer listener, every answer recorded.

Shared by the pool tests, bench/pool_rollout.py and the demo (scripts/demo_pool.py).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Answer:
    sent: float  # time.monotonic() when the request was sent
    done: float
    status: int  # 0: no HTTP answer at all
    instance: str = ""
    version: str = ""


@dataclass
class Load:
    """`clients` keep-alive connections, each sending GET `path` every `interval_s`
    (at a fixed rate: the time a request took is not added to the interval)."""

    port: int
    path: str = "/whoami"
    clients: int = 4
    interval_s: float = 0.02
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(self.clients)]

    def _one(self, conn: http.client.HTTPConnection) -> Answer:
        sent = time.monotonic()
        try:
            conn.request("GET", self.path)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            return Answer(sent, time.monotonic(), 0)
        answer = Answer(sent, time.monotonic(), response.status)
        if response.status == 200:
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {}
            if not isinstance(doc, dict):
                doc = {}
            answer.instance, answer.version = doc.get("instance", ""), doc.get("version", "")
        return answer

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        next_at = time.monotonic()
        while not self._stop.is_set():
            answer = self._one(conn)
            with self._lock:
                self.answers.append(answer)
            next_at += self.interval_s
            time.sleep(max(0.0, next_at - time.monotonic()))
        conn.close()

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    @property
    def failed(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.status != 200]

    @property
    def ok(self) -> int:
        with self._lock:
            return sum(1 for a in self.answers if a.status == 200)

    def statuses(self) -> dict[int, int]:
        """How many answers had each status (0: no HTTP answer)."""
        with self._lock:
            counts: dict[int, int] = {}
            for a in self.answers:
                counts[a.status] = counts.get(a.status, 0) + 1
            return dict(sorted(counts.items()))

    def versions(self) -> dict[str, int]:
        """How many 200s each app version gave (the `version` field of the body)."""
        with self._lock:
            counts: dict[str, int] = {}
            for a in self.answers:
                if a.status == 200:
                    counts[a.version or "?"] = counts.get(a.version or "?", 0) + 1
            return dict(sorted(counts.items()))
