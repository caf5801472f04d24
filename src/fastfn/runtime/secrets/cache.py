"""The per-process (per-container) TTL cache of resolved secrets.

Concurrent lookups of one key make one fetch, the others wait for it. When a refresh after
expiry fails, the last value is kept for another TTL and a warning names the reference: a
rotation is picked up on the next successful refresh, an outage of the secrets service does
not take a warm function down. A first fetch that fails raises.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastfn.runtime.secrets.errors import SecretResolutionError
from fastfn.runtime.secrets.value import Secret

log = logging.getLogger("fastfn.secrets")


@dataclass
class _Cached:
    secret: Secret
    expires: float


class SecretCache:
    """`ttl <= 0` disables caching; `clock` is monotonic seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def fresh(self, key: str) -> Secret | None:
        cached = self._entries.get(key)
        if cached is not None and self._clock() < cached.expires:
            return cached.secret
        return None

    def get(self, key: str, fetch: Callable[[], Secret]) -> Secret:
        cached = self.fresh(key)
        if cached is not None:
            return cached
        with self._key_lock(key):
            cached = self.fresh(key)  # another thread may have fetched it meanwhile
            if cached is not None:
                return cached
            stale = self._entries.get(key)
            try:
                secret = fetch()
            except SecretResolutionError as exc:
                if stale is None:
                    raise
                log.warning("secret refresh failed; keeping the previous value",
                            extra={"reference": key, "reason": exc.reason})
                stale.expires = self._clock() + self.ttl
                return stale.secret
            if self.ttl > 0:
                self._entries[key] = _Cached(secret, self._clock() + self.ttl)
            return secret

    def invalidate(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            yield
