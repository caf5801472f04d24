"""A deploy lock held in the target's own cloud, shared by every machine that deploys.

The per-machine file lock (`lock.py`) cannot see a laptop and a CI runner deploying the
same stage; this lease can: an object created only if absent (a conditional write), naming
its holder and when its lease ends. The holder renews it while it works; a lease that has
ended is taken over with a write conditional on the etag read, so two machines taking over
at once cannot both win. Stores implement `LeaseStore` with their cloud's conditional
writes (`leases/oci_object_storage.py`).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from fastfn.deploy.errors import DeployLocked

log = logging.getLogger("fastfn.deploy.lease")

LEASE_S = 600.0  # renewed every third of it; a holder gone this long is taken over


class LeaseStore(Protocol):
    """Conditional writes on named objects (an etag names one version of one)."""

    def where(self, name: str) -> str:
        """Where the object lives, for messages (e.g. oci://bucket/name)."""
        ...

    def create(self, name: str, body: bytes) -> str | None:
        """Write if absent; the etag, or None when the object exists."""
        ...

    def read(self, name: str) -> tuple[bytes, str] | None:
        """The body and etag, or None when absent."""
        ...

    def replace(self, name: str, body: bytes, etag: str) -> str | None:
        """Write if the object is still at `etag`; the new etag, or None."""
        ...

    def delete(self, name: str, etag: str) -> None:
        """Delete if the object is still at `etag` (otherwise leave it)."""
        ...


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _holder(operation: str, lease_s: float) -> dict[str, Any]:
    now = time.time()
    return {"host": socket.gethostname(), "pid": os.getpid(), "user": getpass.getuser(),
            "operation": operation, "since": _stamp(now), "expires_at": now + lease_s,
            "expires": _stamp(now + lease_s)}


def _encode(holder: dict[str, Any]) -> bytes:
    return json.dumps(holder, sort_keys=True).encode()


def _take(store: LeaseStore, name: str, me: dict[str, Any], stage: str) -> str:
    for _ in range(3):
        etag = store.create(name, _encode(me))
        if etag is not None:
            return etag
        found = store.read(name)
        if found is None:
            continue  # released between our two calls: try again
        body, current = found
        try:
            holder = json.loads(body)
            expires_at = float(holder["expires_at"])
        except (ValueError, KeyError, TypeError):
            holder, expires_at = {}, 0.0  # unreadable: treat as ended
        if expires_at > time.time():
            raise DeployLocked(
                f"stage {stage!r} is locked in the cloud ({store.where(name)}): a "
                f"{holder.get('operation', 'deploy')} by {holder.get('user', '?')} on "
                f"{holder.get('host', '?')} (pid {holder.get('pid', '?')}) since "
                f"{holder.get('since', '?')}, lease until {holder.get('expires', '?')}. "
                "Wait for it to finish; a lease that is not renewed ends by itself")
        log.warning("taking over an ended deploy lease",
                    extra={"where": store.where(name), "holder": holder})
        etag = store.replace(name, _encode(me), current)
        if etag is not None:
            return etag
    raise DeployLocked(f"stage {stage!r}: could not take the lease at {store.where(name)} "
                       "(another machine took it at the same time); run again")


class _Renewer(threading.Thread):
    def __init__(self, store: LeaseStore, name: str, me: dict[str, Any], etag: str,
                 lease_s: float) -> None:
        super().__init__(name="fastfn-lease", daemon=True)
        self.store, self.name_, self.me, self.etag, self.lease_s = store, name, me, etag, \
            lease_s
        self.done = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.done.wait(self.lease_s / 3):
            self.me["expires_at"] = time.time() + self.lease_s
            self.me["expires"] = _stamp(self.me["expires_at"])
            try:
                etag = self.store.replace(self.name_, _encode(self.me), self.etag)
            except Exception as exc:  # the cloud unreachable for a moment: retry next time
                log.warning("could not renew the deploy lease", extra={"error": str(exc)})
                continue
            if etag is None:
                self.lost = True
                log.error("the deploy lease was taken over by another machine",
                          extra={"where": self.store.where(self.name_)})
                return
            self.etag = etag


@contextlib.contextmanager
def cloud_lease(store: LeaseStore, service: str, stage: str, operation: str = "deploy",
                lease_s: float = LEASE_S) -> Iterator[str]:
    """Hold `<service>/<stage>.lock` in `store` for the duration of the block."""
    name = f"{service}/{stage}.lock"
    me = _holder(operation, lease_s)
    etag = _take(store, name, me, stage)
    renewer = _Renewer(store, name, me, etag, lease_s)
    renewer.start()
    try:
        yield store.where(name)
    finally:
        renewer.done.set()
        renewer.join()
        if not renewer.lost:
            try:
                store.delete(name, renewer.etag)
            except Exception as exc:  # the lease ends by itself
                log.warning("could not release the deploy lease", extra={"error": str(exc)})
