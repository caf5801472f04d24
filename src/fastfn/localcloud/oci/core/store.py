"""Persistent resource metadata: one SQLite database under the state directory.

SQLite gives what the local cloud needs without a server: atomic multi-row changes,
safe concurrent use by the cloud process and by tools that write to the same state dir
(`fastfn` pushing a local image while the cloud runs), and durability across restarts.
Documents are the resources' wire JSON; `parent` and `name` are indexed for lookups
and ordered listings.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind   TEXT NOT NULL,
    id     TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    name   TEXT NOT NULL DEFAULT '',
    doc    TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS by_parent_name ON resources (kind, parent, name);
"""


class StateDamaged(RuntimeError):
    """The metadata database is missing, empty or unreadable while the state dir holds
    data: serving it would look like an empty cloud whose objects have vanished."""


def open_checked(db: Path, data_dirs: tuple[Path, ...]) -> Store:
    """The store at `db`, refusing to start over a damaged one (never silently empty)."""
    has_data = any(next(d.rglob("*"), None) is not None for d in data_dirs if d.is_dir())
    what_to_do = (f"restore {db.name} from a backup, or move {db.parent} away to start a "
                  "new, empty local cloud")
    if has_data and (not db.exists() or db.stat().st_size == 0):
        raise StateDamaged(f"{db} is {'missing' if not db.exists() else 'empty'} but "
                           f"{', '.join(str(d) for d in data_dirs)} still hold data: "
                           f"{what_to_do}")
    try:
        store = Store(db)
        result = store._db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StateDamaged(f"{db} is not a readable database ({exc}): {what_to_do}") from exc
    if result is None or result[0] != "ok":
        store.close()
        raise StateDamaged(f"{db} failed its integrity check ({result and result[0]}): "
                           f"{what_to_do}")
    return store


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection shared by the server's threads; the lock serialises its use.
        # Other processes get their own connections, and SQLite's file locking (with a
        # busy timeout) serialises them against us.
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False,
                                   isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Several reads and writes that see and leave a consistent state."""
        committed: list[Callable[[], None]] = []
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._after_commit.clear()
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")
                committed, self._after_commit = self._after_commit, []
        for callback in committed:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction under way has committed (at once outside
        one); never after a rollback. For work that must follow only durable state, such
        as delivering the event a write recorded."""
        with self._lock:
            if self._depth:
                self._after_commit.append(callback)
                return
        callback()

    def put(self, kind: str, id: str, doc: Doc, parent: str = "", name: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO resources (kind, id, parent, name, doc) "
                "VALUES (?, ?, ?, ?, ?)", (kind, id, parent, name, json.dumps(doc)))

    def get(self, kind: str, id: str) -> Doc | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM resources WHERE kind = ? AND id = ?",
                                   (kind, id)).fetchone()
        return None if row is None else json.loads(row[0])

    def delete(self, kind: str, id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM resources WHERE kind = ? AND id = ?",
                                   (kind, id))
        return cur.rowcount > 0

    def find(self, kind: str, parent: str | None = None, name: str | None = None) -> list[Doc]:
        sql = "SELECT doc FROM resources WHERE kind = ?"
        args: list[str] = [kind]
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        if name is not None:
            sql += " AND name = ?"
            args.append(name)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY name, id", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def names_from(self, kind: str, parent: str, start: str, prefix: str, end: str | None,
                   limit: int) -> list[Doc]:
        """Documents whose name is >= start (and < end), starting with prefix, in name order.

        Names compare as SQLite compares text: bytewise UTF-8, as Object Storage orders.
        """
        sql = ("SELECT doc FROM resources WHERE kind = ? AND parent = ? AND name >= ? "
               "AND substr(name, 1, ?) = ?")
        args: list[Any] = [kind, parent, max(start, prefix), len(prefix), prefix]
        if end is not None:
            sql += " AND name < ?"
            args.append(end)
        sql += " ORDER BY name LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, kind: str, parent: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM resources WHERE kind = ? AND parent = ?",
                                   (kind, parent)).fetchone()
        return int(row[0])
