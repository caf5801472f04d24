"""Function logs: every line a function instance writes (stdout and stderr), kept in the
cloud's state dir as JSON lines, as OCI Logging keeps a function's invocation logs.

Each entry has the time it was received, the function and application names, the level
and call id when the line is one of the runtime's JSON lines, and the line itself. The
file is appended by the cloud process and read (or followed) by `fastfn logs`; it rolls
over to `functions.jsonl.1` past MAX_BYTES.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_BYTES = 32 * 1024 * 1024
MAX_LINE = 16 * 1024
FILE = "functions.jsonl"
WARNING_LEVELS = frozenset({"warning", "warn", "error", "critical", "fatal"})


def parse_line(line: str) -> dict[str, Any]:
    """The level, call id and message of one output line (plain text is level 'info')."""
    found: dict[str, Any] = {"level": "info", "callId": None, "message": line}
    if line.startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            return found
        if isinstance(data, dict):
            found["level"] = str(data.get("level") or "info").lower()
            found["callId"] = data.get("call_id") or data.get("callId")
            found["message"] = str(data.get("msg") or data.get("message") or line)
    return found


@dataclass
class FunctionLogs:
    root: Path  # the state dir's logs/ directory

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.root / FILE

    def record(self, function: str, application: str, line: str) -> dict[str, Any]:
        line = line[:MAX_LINE]
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds")
                 .replace("+00:00", "Z"), "function": function, "application": application,
                 **parse_line(line), "line": line}
        data = (json.dumps(entry) + "\n").encode()
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                if self.path.stat().st_size + len(data) > MAX_BYTES:
                    self.path.replace(self.path.with_name(FILE + ".1"))
            except FileNotFoundError:
                pass
            with open(self.path, "ab") as out:
                out.write(data)
        return entry

    def read(self, name: str | None = None, since: datetime | None = None,
             call_id: str | None = None) -> list[dict[str, Any]]:
        """Entries of a function or application (by name), oldest first."""
        entries: list[dict[str, Any]] = []
        for path in (self.path.with_name(FILE + ".1"), self.path):
            entries += [e for e in _entries(path) if _wanted(e, name, since, call_id)]
        return entries

    def follow(self, name: str | None = None, since: datetime | None = None,
               poll_s: float = 0.5, stop: threading.Event | None = None
               ) -> Iterator[dict[str, Any]]:
        """What read() gives, then new entries as they are written, until `stop`."""
        yield from self.read(name, since)
        offset = self.path.stat().st_size if self.path.exists() else 0
        pending = b""
        while stop is None or not stop.is_set():
            time.sleep(poll_s)
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                continue
            if size < offset:  # rolled over
                offset, pending = 0, b""
            if size == offset:
                continue
            with open(self.path, "rb") as src:
                src.seek(offset)
                chunk = src.read(size - offset)
            offset = size
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for raw in lines:
                entry = _load(raw)
                if entry is not None and _wanted(entry, name, None, None):
                    yield entry


def _load(raw: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with open(path, "rb") as src:
            for raw in src:
                entry = _load(raw)
                if entry is not None:
                    yield entry
    except FileNotFoundError:
        return


def _wanted(entry: dict[str, Any], name: str | None, since: datetime | None,
            call_id: str | None) -> bool:
    if name is not None and name not in (entry.get("function"), entry.get("application")):
        return False
    if call_id is not None and entry.get("callId") != call_id:
        return False
    if since is not None:
        try:
            when = datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return False
        return when >= since
    return True
