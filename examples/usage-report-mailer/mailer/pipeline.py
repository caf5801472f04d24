"""The seed's six phases for one event, and the outcome as the seed's response body.

Each phase raises its category's error; `handle` turns every outcome into one response
body and one JSON log line. A retryable failure that outlived the call's retries is
returned with `redeliver=True`; the endpoint then makes the runtime answer an outer 502.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from fastfn.runtime.context import current
from mailer import auth, credentials, smtp
from mailer.claims import Claim, Claims, Taken
from mailer.compose import compose
from mailer.errors import MailerError, ParseError, SMTPError
from mailer.event import ObjectEvent, parse_event
from mailer.settings import Settings, load_settings
from mailer.storage import download
from mailer.summary import summarize

log = logging.getLogger("mailer")

# Kept free at the end of the call: marking the report sent and answering.
RESERVE_S = 2.0
DEFAULT_REMAINING_S = 30.0


class Success(BaseModel):
    status: str  # "success", or "duplicate" when the report was already mailed
    message: str
    object_name: str
    recipient: str
    timestamp: str


class Failure(BaseModel):
    status: str = "error"
    category: str
    message: str
    object_name: str | None
    timestamp: str


@dataclass
class Outcome:
    status: int
    body: Success | Failure
    redeliver: bool = False
    log_fields: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Left for answering once marking gives up.
MARK_MARGIN_S = 1.0


def _remaining() -> tuple[float, str]:
    ctx = current()
    if ctx is None:
        return DEFAULT_REMAINING_S, ""
    remaining = ctx.remaining_seconds()
    return (DEFAULT_REMAINING_S if remaining is None else remaining), ctx.call_id


class Phases:
    """Milliseconds per phase, for the outcome's log line."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.ms[phase] = round((now - self._last) * 1000, 1)
        self._last = now


async def _mail(event: ObjectEvent, settings: Settings, client: Any, phases: Phases,
                claiming: asyncio.Future[Claim | Taken]) -> Taken | None:
    """Mail the report once `claiming` says it is ours; the claim's answer if not.

    What takes time is overlapped: the claim, the download and the SMTP session (connect,
    STARTTLS, AUTH) all start at once, the message is composed meanwhile, and MAIL/RCPT/
    DATA, the only step that can make a copy, starts only after the claim is won."""
    downloading = asyncio.ensure_future(asyncio.to_thread(
        download, client, event.namespace, event.bucket, event.object_name,
        settings.max_report_bytes))
    outbox: smtp.Outbox | None = None
    try:
        username, password = await credentials.smtp_credentials(settings.username_ref,
                                                                settings.password_ref)
        phases.done("vault")
        remaining, _ = _remaining()
        budget = min(settings.smtp_retry_budget_s, remaining - RESERVE_S)
        outbox = smtp.Outbox(settings, username, password, budget)
        report = await downloading
        phases.done("download")
        message = compose(settings, report, summarize(report.name, report.text), event.etag)
        phases.done("compose")
        taken = await claiming
        phases.done("claim")
        if isinstance(taken, Taken):
            return taken
        try:
            await outbox.send(message)
        except MailerError as exc:
            if exc.status == 401:
                credentials.forget(settings.username_ref, settings.password_ref)
            raise
        finally:
            phases.done("smtp")
            if outbox.open_ms is not None:
                phases.ms["smtp_open"] = outbox.open_ms
        return None
    finally:
        # Whatever failed first, the claim's outcome decides (a duplicate stays one), and
        # nothing started here is left running unobserved.
        _settle(downloading)
        if outbox is not None:
            await outbox.aclose()


def _settle(future: asyncio.Future[Any]) -> None:
    """Observe a task's outcome without waiting for it (nor swallowing a cancellation of
    the caller): a download left behind by an earlier failure ends on its own."""
    if future.done():
        if not future.cancelled():
            future.exception()
    else:
        future.add_done_callback(lambda f: f.cancelled() or f.exception())


async def handle(body: bytes) -> Outcome:
    started = time.perf_counter()
    object_name: str | None = None
    phases = Phases()
    fields: dict[str, Any] = {"phases_ms": phases.ms}
    claims: Claims | None = None
    claim: Claim | None = None
    try:
        event = parse_event(body)  # phase 1
        object_name = event.object_name
        fields.update(event_id=event.eventID, etag=event.etag, bucket=event.bucket)
        client = auth.storage_client(os.environ.get("REGION", ""))  # phase 2
        settings = load_settings()  # phase 3
        phases.done("start")
        if (event.bucket, event.namespace) != (settings.bucket, settings.namespace):
            raise ParseError(f"event for bucket {event.namespace}/{event.bucket}; this "
                             f"function mails reports from {settings.namespace}/"
                             f"{settings.bucket}")
        remaining, call_id = _remaining()
        claims = Claims(client, settings.namespace, settings.state_bucket,
                        settings.claim_lease_slack_s)
        claiming = asyncio.ensure_future(asyncio.to_thread(
            claims.claim, event.etag, event.eventID, event.object_name, call_id, remaining))
        try:
            taken = await _mail(event, settings, client, phases, claiming)  # phases 3b-6
        except Exception:
            # The claim's outcome comes first: its own error, if it failed, replaces the
            # mail's; a report already mailed stays a duplicate whatever else failed; a
            # claim won is released below.
            won = await claiming
            if isinstance(won, Claim):
                claim = won
                raise
            taken = won
        else:
            if taken is None:
                won = claiming.result()
                assert isinstance(won, Claim)
                claim = won
        if isinstance(taken, Taken):
            if taken.state == "busy":
                # Another instance holds the claim: come back when it is done or gone.
                return _redeliver(object_name, fields, started,
                                  "another instance is mailing this report")
            fields["first_event_id"] = taken.marker.get("eventID")
            return _done(200, Success(
                status="duplicate", object_name=object_name, timestamp=_now(),
                recipient=", ".join(settings.email_to),
                message=f"Email already sent for {object_name}; not sent again"),
                fields, started)
        # Marking may retry until just before the call's deadline.
        mark_until = time.monotonic() + max(0.6, _remaining()[0] - MARK_MARGIN_S)
        await asyncio.to_thread(claims.complete, claim, {
            "state": "sending", "object": object_name, "eventID": event.eventID,
            "call_id": call_id}, mark_until)
        phases.done("complete")
        claim = None
        return _done(200, Success(
            status="success", object_name=object_name, timestamp=_now(),
            recipient=", ".join(settings.email_to),
            message=f"Email sent successfully for {object_name}"), fields, started)
    except MailerError as exc:
        if isinstance(exc, SMTPError) and exc.outcome_unknown:
            # The server may have accepted it: the claim is kept until its lease.
            fields["outcome_unknown"] = True
            if claims is not None and claim is not None:
                await asyncio.to_thread(claims.keep_unknown, claim, exc.message)
        else:
            await _release(claims, claim)
        fields.update(category=exc.category, retryable=exc.retryable)
        if exc.retryable:
            return _redeliver(object_name, fields, started, exc.message, exc)
        return _done(exc.status, Failure(category=exc.category, message=exc.message,
                                         object_name=object_name, timestamp=_now()),
                     fields, started)
    except Exception:
        # A bug, not a category: the runtime answers an outer 502 and the event is
        # redelivered.
        await _release(claims, claim)
        log.exception("report not mailed: unexpected failure",
                      extra={**fields, "outcome": "redeliver", "object_name": object_name})
        raise
    # Cancelled at the deadline: the claim is NOT released. The SMTP thread may still be
    # sending; the lease (remaining time + slack) keeps others off until it is done.


async def _release(claims: Claims | None, claim: Claim | None) -> None:
    if claims is not None and claim is not None:
        await asyncio.to_thread(claims.release, claim)


def _done(status: int, body: Success | Failure, fields: dict[str, Any],
          started: float) -> Outcome:
    fields = {**fields, "outcome": body.status, "object_name": body.object_name,
              "status": status, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(body, Failure):
        log.error("report not mailed", extra={**fields, "detail": body.message})
    else:
        log.info("report mailed" if body.status == "success" else "duplicate delivery",
                 extra=fields)
    return Outcome(status, body, log_fields=fields)


def _redeliver(object_name: str | None, fields: dict[str, Any], started: float,
               message: str, exc: MailerError | None = None) -> Outcome:
    category = exc.category if exc else "Busy"
    body = Failure(category=category, message=message, object_name=object_name,
                   timestamp=_now())
    fields = {**fields, "outcome": "redeliver", "object_name": object_name, "status": 502,
              "category": category, "detail": message,
              "ms": round((time.perf_counter() - started) * 1000, 1)}
    log.warning("report not mailed yet; the event will be redelivered", extra=fields)
    return Outcome(502, body, redeliver=True, log_fields=fields)
