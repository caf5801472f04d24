"""Steady request load through a local load balancer listener, every answer recorded."""

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
    """`clients` keep-alive connections, each sending GET `path` every `interval_s`."""

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
            doc = json.loads(body)
            answer.instance, answer.version = doc.get("instance", ""), doc.get("version", "")
        return answer

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            answer = self._one(conn)
            with self._lock:
                self.answers.append(answer)
            time.sleep(self.interval_s)
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
