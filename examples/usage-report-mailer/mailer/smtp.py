"""Phase 6: delivery to the SMTP server with STARTTLS and AUTH.

Credentials are only ever sent inside TLS: STARTTLS is required (port 465 means TLS from
the first byte), and a server that does not offer it is refused before AUTH. Failures
are sorted as transient (connection problems, 4xx replies) or permanent (5xx replies,
refused credentials, a certificate that does not verify); transient ones are retried
with backoff while the time budget lasts. One is never retried here: no answer to the end
of DATA (`outcome_unknown`), since the server may have accepted the message already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import smtplib
import socket
import ssl
import threading
import time

from fastfn.runtime.secrets import Secret
from mailer.errors import SMTPError
from mailer.settings import Settings

log = logging.getLogger("mailer.smtp")

FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 2.0
# An attempt gets at least this much; no new attempt starts with less left.
MIN_ATTEMPT_S = 0.5
QUIT_TIMEOUT_S = 1.0


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _classify(exc: Exception) -> SMTPError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SMTPError(f"the SMTP server's certificate does not verify: {exc.verify_message}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # 454 is "temporary authentication failure"; 535 is wrong credentials.
        return SMTPError(f"the SMTP server refused the credentials ({exc.smtp_code})",
                         retryable=400 <= exc.smtp_code < 500, status=401)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return SMTPError(f"all recipients refused ({', '.join(map(str, codes))})",
                         retryable=all(400 <= c < 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        return SMTPError(f"the SMTP server answered {exc.smtp_code}",
                         retryable=400 <= exc.smtp_code < 500)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SMTPError(f"the SMTP server does not support a required command: {exc}")
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return SMTPError(f"cannot talk to the SMTP server: {type(exc).__name__}",
                         retryable=True)
    return SMTPError(f"SMTP failure: {type(exc).__name__}")


class _DotStuffing:
    """smtplib's DATA with its dot-stuffing done by bytes.replace: the same bytes on the
    wire as `smtplib._quote_periods`' regex (a "." at the start of a line doubled), which
    takes ~17 ms over a 1.3 MB message where this takes ~1.5 ms.

    `data_end_sent` turns true once the end of DATA is written: from then on the server
    may have accepted the message, whether or not its reply arrives."""

    data_end_sent = False

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        client: smtplib.SMTP = self  # type: ignore[assignment]
        if not isinstance(msg, bytes):
            self.data_end_sent = True  # not known when smtplib writes it: assume sent
            return smtplib.SMTP.data(client, msg)
        client.putcmd("data")
        code, reply = client.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        stuffed = msg.replace(b"\n.", b"\n..")
        if stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        if not stuffed.endswith(b"\r\n"):
            stuffed += b"\r\n"
        client.send(stuffed + b".\r\n")
        # Only now: a write that failed did not get its last bytes, the end, out.
        self.data_end_sent = True
        return client.getreply()


class _SMTP(_DotStuffing, smtplib.SMTP):
    pass


class _SMTPSSL(_DotStuffing, smtplib.SMTP_SSL):
    pass


class _Watchdog:
    """The exchange's overall deadline: a socket timeout bounds each read, not a server
    that trickles its replies a byte at a time. At the deadline the connection is shut
    down under the blocked thread, whose read or write then fails at once."""

    def __init__(self, client: smtplib.SMTP, deadline: float) -> None:
        self.client, self.fired = client, False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = getattr(self.client, "sock", None)
        if sock is not None:
            # socket.socket's own shutdown: the TLS object stays in place for the reader.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class _Session:
    """One connection: connected, STARTTLS done, authenticated; MAIL/RCPT/DATA to come."""

    def __init__(self, settings: Settings, deadline: float) -> None:
        self.deadline = deadline
        timeout = max(0.1, min(settings.smtp_timeout_s, deadline - time.monotonic()))
        self.client: _SMTP | _SMTPSSL = (
            _SMTPSSL(timeout=timeout, context=_tls_context(settings))
            if settings.smtp_port == 465 else _SMTP(timeout=timeout))
        # Made unconnected (so the watchdog is armed before connect); smtplib checks the
        # TLS certificate against the host it was made with.
        self.client._host = settings.smtp_server  # type: ignore[attr-defined]
        self.watchdog = _Watchdog(self.client, deadline)

    def check(self, exc: Exception) -> SMTPError:
        if self.client.data_end_sent and not isinstance(exc, smtplib.SMTPResponseException):
            # No reply to the end of DATA (a reply, even 4xx/5xx, is a known outcome).
            why = ("the deadline passed" if self.watchdog.fired
                   else f"{type(exc).__name__}")
            return SMTPError("the message was sent but the SMTP server's answer to it "
                             f"never came ({why}): it may have been accepted",
                             retryable=True, outcome_unknown=True)
        if self.watchdog.fired:
            return SMTPError("the SMTP exchange did not finish before its deadline "
                             "(a server too slow to answer)", retryable=True)
        return _classify(exc)

    def close(self, polite: bool = True) -> None:
        """QUIT (best effort: the message, if any, is already accepted) and close."""
        if polite and not self.watchdog.fired and self.client.sock is not None:
            with contextlib.suppress(Exception):
                self.client.sock.settimeout(max(0.1, min(
                    QUIT_TIMEOUT_S, self.deadline - time.monotonic())))
                self.client.quit()
        self.watchdog.cancel()
        self.client.close()


def _open(settings: Settings, username: Secret, password: Secret,
          deadline: float) -> _Session:
    """Connect, EHLO, STARTTLS, EHLO, AUTH: everything but the message itself."""
    session = _Session(settings, deadline)
    client = session.client
    try:
        client.connect(settings.smtp_server, settings.smtp_port)
        client.ehlo()
        if settings.smtp_port != 465:
            if not client.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    "STARTTLS not offered; credentials are never sent in plaintext")
            client.starttls(context=_tls_context(settings))
            client.ehlo()
        client.login(username.reveal(), password.reveal())
    except Exception as exc:
        error = session.check(exc)
        session.close(polite=False)
        raise error from None
    return session


def _deliver(session: _Session, settings: Settings,
             message: bytes) -> dict[str, tuple[int, bytes]]:
    try:
        refused = session.client.sendmail(settings.email_from, list(settings.email_to),
                                          message)
    except Exception as exc:
        session.close(polite=False)
        raise session.check(exc) from None
    session.close()  # after acceptance: nothing here may fail the send
    return refused


class Outbox:
    """Delivery of one message within `budget_s` from now, all attempts included.

    The first connection is opened (and authenticated) at once, in a thread, so that it
    is ready when the message is: `send()` then only has MAIL, RCPT and DATA to do.
    Transient failures are retried with backoff on fresh connections while the budget
    lasts; every attempt's exchange ends by the budget's deadline whatever the server does.
    """

    def __init__(self, settings: Settings, username: Secret, password: Secret,
                 budget_s: float) -> None:
        self.settings, self.username, self.password = settings, username, password
        self.deadline = time.monotonic() + max(budget_s, MIN_ATTEMPT_S)
        self.open_ms: float | None = None
        self._first: asyncio.Future[_Session] | None = asyncio.ensure_future(
            self._open())

    async def _open(self) -> _Session:
        started = time.perf_counter()
        session = await asyncio.to_thread(_open, self.settings, self.username,
                                          self.password, self.deadline)
        self.open_ms = round((time.perf_counter() - started) * 1000, 1)
        return session

    async def send(self, message: bytes) -> dict[str, tuple[int, bytes]]:
        """Returns the recipients the server refused (empty when all were accepted)."""
        backoff = FIRST_BACKOFF_S
        attempt = 0
        while True:
            attempt += 1
            opening, self._first = self._first or asyncio.ensure_future(self._open()), None
            try:
                session = await opening
                return await asyncio.to_thread(_deliver, session, self.settings, message)
            except SMTPError as exc:
                error = exc
            if error.outcome_unknown:
                # Sending again could make a second copy: the claim's lease decides.
                error.message = f"{error.message} (attempt {attempt}; not retried)"
                error.args = (error.message,)
                raise error
            wait = backoff * (0.5 + random.random())  # jitter: instances do not retry in step
            if not error.retryable or time.monotonic() + wait + MIN_ATTEMPT_S >= self.deadline:
                error.message = f"{error.message} (after {attempt} attempt(s))"
                error.args = (error.message,)
                raise error
            log.warning("SMTP attempt failed; retrying",
                        extra={"attempt": attempt, "error": error.message,
                               "wait_s": round(wait, 3)})
            await asyncio.sleep(wait)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def aclose(self) -> None:
        """Close the connection opened ahead when no message was sent on it."""
        first, self._first = self._first, None
        if first is None:
            return
        try:
            session = await first
        except SMTPError:
            return
        await asyncio.to_thread(session.close)


async def send(settings: Settings, message: bytes, username: Secret, password: Secret,
               budget_s: float) -> dict[str, tuple[int, bytes]]:
    """Send, retrying transient failures until `budget_s` (from now) would be passed."""
    outbox = Outbox(settings, username, password, budget_s)
    try:
        return await outbox.send(message)
    finally:
        await outbox.aclose()
