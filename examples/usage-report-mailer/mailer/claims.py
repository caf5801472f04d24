"""Exactly once: a marker object per report version, claimed before the mail is sent.

The key is the object's ETag: a redelivered event (same eventID) carries the same ETag,
and a new upload, even of the same bytes, gets a new one and is mailed again. Markers
live in the state bucket as `sent/<etag>`, so every function instance sees them:

1. claim: `put_object(if_none_match="*")` of {"state": "sending", "lease_until": ...}.
   Only one instance can create it; the others find it and read it.
2. found "sent": a duplicate; answered without mailing.
   found "sending" with a live lease: another instance is on it right now, or died; the
   event is redelivered later (outer 502) and will then find "sent", or an expired lease.
   found "sending" with an expired lease: the claimant died between claim and send;
   taken over with `if_match` on the marker's ETag (only one taker wins).
3. after the SMTP server accepted the message: overwritten as "sent" (`if_match`).
   On a failure before the end of DATA was written the marker is deleted (`if_match`),
   so a redelivery starts afresh. When the end of DATA was written and the server's
   answer never came, the server may have accepted the message: the marker is kept,
   overwritten as "unknown" with the same lease, and a redelivery treats it like a live
   "sending" until the lease expires, then takes it over and sends again (at least once:
   a second copy, same Message-ID, if the first was in fact accepted; never lost).

Marking "sent" is retried until the call's deadline, so Object Storage being unreachable
for a few seconds does not leave the report unmarked. The one window left: the function
dies (or Object Storage stays unreachable until the call's deadline) after the SMTP server
accepted the message and before the marker says "sent". Then, after the lease, the report
is mailed once more, with the same Message-ID (at least once, never lost). The lease is the
function's remaining time plus slack, so a live claimant is never overtaken.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from mailer.errors import StorageError
from mailer.storage import is_transient

log = logging.getLogger("mailer.claims")

PREFIX = "sent/"
SENDING, SENT, UNKNOWN = "sending", "sent", "unknown"
# Lease slack by default (the function's CLAIM_LEASE_SLACK_S setting).
LEASE_SLACK_S = 10.0


@dataclass(frozen=True)
class Claim:
    name: str
    marker_etag: str
    marker: dict[str, Any]


@dataclass(frozen=True)
class Taken:
    """The report is already handled (`sent`) or being handled (`busy`)."""

    state: str
    marker: dict[str, Any]


def _error(exc: Exception, doing: str) -> StorageError:
    import oci

    if isinstance(exc, oci.exceptions.ServiceError):
        if exc.status == 404 and exc.code == "BucketNotFound":
            return StorageError(f"{doing}: the state bucket does not exist", status=500)
        return StorageError(f"{doing}: {exc.code} (HTTP {exc.status})",
                            retryable=is_transient(exc))
    return StorageError(f"{doing}: {type(exc).__name__}", retryable=True)


class Claims:
    """`lease_slack_s`: how long past the claimant's own deadline its claim still holds
    (its SMTP thread may outlive the call by the socket timeout)."""

    def __init__(self, client: Any, namespace: str, bucket: str,
                 lease_slack_s: float = LEASE_SLACK_S) -> None:
        self.client, self.namespace, self.bucket = client, namespace, bucket
        self.lease_slack_s = lease_slack_s

    def _put(self, name: str, marker: dict[str, Any], **condition: str) -> str:
        response = self.client.put_object(self.namespace, self.bucket, name,
                                          json.dumps(marker).encode(),
                                          content_type="application/json", **condition)
        return str(response.headers["etag"])

    def claim(self, etag: str, event_id: str, object_name: str, call_id: str,
              lease_s: float) -> Claim | Taken:
        import oci

        name = PREFIX + etag
        marker = {"state": SENDING, "object": object_name, "eventID": event_id,
                  "call_id": call_id, "claimed_at": time.time(),
                  "lease_until": time.time() + lease_s + self.lease_slack_s}
        for _ in range(3):  # a marker deleted between our write and our read: try again
            try:
                return Claim(name, self._put(name, marker, if_none_match="*"), marker)
            except oci.exceptions.ServiceError as exc:
                if exc.status != 412:
                    raise _error(exc, "cannot claim the report") from None
            except Exception as exc:
                raise _error(exc, "cannot claim the report") from None
            try:
                response = self.client.get_object(self.namespace, self.bucket, name)
                found = json.loads(response.data.content)
                found_etag = str(response.headers["etag"])
            except oci.exceptions.ServiceError as exc:
                if exc.status == 404:
                    continue
                raise _error(exc, "cannot read the report's marker") from None
            except Exception as exc:
                raise _error(exc, "cannot read the report's marker") from None
            if found.get("state") == SENT:
                return Taken("sent", found)
            if found.get("call_id") == call_id:
                return Claim(name, found_etag, found)  # our own write, its answer lost
            if float(found.get("lease_until", 0)) > time.time():
                return Taken("busy", found)
            if found.get("state") == UNKNOWN:
                log.warning("taking over an expired claim whose send has an unknown "
                            "outcome: if the server accepted it, this is a second copy",
                            extra={"marker": name, "previous_call_id": found.get("call_id")})
            else:
                log.warning("taking over an expired claim",
                            extra={"marker": name, "previous_call_id": found.get("call_id")})
            try:
                return Claim(name, self._put(name, marker, if_match=found_etag), marker)
            except oci.exceptions.ServiceError as exc:
                if exc.status != 412:
                    raise _error(exc, "cannot take over the report's claim") from None
                # Someone else took it over first; read it again.
            except Exception as exc:
                raise _error(exc, "cannot take over the report's claim") from None
        return Taken("busy", {})

    def complete(self, claim: Claim, marker: dict[str, Any], until: float | None = None) -> bool:
        """Mark sent. The mail is out whatever happens here, so failures are logged, never
        raised. Transient failures are retried until `until` (a `time.monotonic()` value:
        the call's own deadline) with a growing pause: a few seconds of Object Storage
        being away must not leave the report unmarked, since its lease would then expire
        and a redelivery would mail it again."""
        marker = {**marker, "state": SENT, "sent_at": time.time()}
        until = time.monotonic() + 0.6 if until is None else until
        pause = 0.1
        attempts = 0
        while True:
            attempts += 1
            try:
                self._put(claim.name, marker, if_match=claim.marker_etag)
                if attempts > 1:
                    log.info("report marked sent after retries",
                             extra={"marker": claim.name, "attempts": attempts})
                return True
            except Exception as exc:
                error = _error(exc, "cannot mark the report sent")
                if not error.retryable or time.monotonic() + pause > until:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        log.error("report mailed but not marked sent: a redelivery after the lease may mail "
                  "it again", extra={"marker": claim.name, "detail": error.message,
                                     "attempts": attempts})
        return False

    def keep_unknown(self, claim: Claim, detail: str) -> None:
        """The end of DATA was written, the answer never came: keep the claim, recorded
        as "unknown" with its lease unchanged, so that nobody sends again before the lease
        expires. If this write fails the marker stays "sending" with the same lease, which
        redeliveries treat the same way."""
        marker = {**claim.marker, "state": UNKNOWN, "unknown_at": time.time(),
                  "detail": detail}
        try:
            self._put(claim.name, marker, if_match=claim.marker_etag)
        except Exception as exc:
            log.warning("cannot record the unknown outcome; the claim stays as it was",
                        extra={"marker": claim.name,
                               "detail": _error(exc, "record unknown").message})
            return
        log.warning("send outcome unknown: claim kept until its lease expires",
                    extra={"marker": claim.name, "lease_until": marker.get("lease_until")})

    def release(self, claim: Claim) -> None:
        """Give the claim up after a failure; if this fails the lease expires instead."""
        try:
            self.client.delete_object(self.namespace, self.bucket, claim.name,
                                      if_match=claim.marker_etag)
        except Exception as exc:
            log.warning("cannot release the claim; it expires with its lease",
                        extra={"marker": claim.name, "detail": _error(exc, "release").message})
