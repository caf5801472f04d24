"""OCIDs and other identifiers in the shapes OCI uses."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime


def _unique(seed: str | None) -> str:
    raw = hashlib.sha256(seed.encode()).digest() if seed is not None else secrets.token_bytes(32)
    # Real OCIDs end in 60 lowercase base32 characters starting with "aaaa".
    return "aaaaaaaa" + base64.b32encode(raw).decode().lower().rstrip("=")[:52]


def ocid(resource_type: str, region: str = "", seed: str | None = None) -> str:
    """`ocid1.<type>.oc1.<region>.<unique>`; global resources leave the region empty.

    A seed gives a stable OCID (resources declared in the tenancy file keep their ids
    across restarts); without one the id is random.
    """
    return f"ocid1.{resource_type}.oc1.{region}.{_unique(seed)}"


def now() -> datetime:
    # OCI timestamps have millisecond precision.
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
