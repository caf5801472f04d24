"""Phase 6: delivery to the SMTP server with STARTTLS and AUTH.

Credentials are only ever sent inside TLS: STARTTLS is required (port 465 means TLS from
the first byte), and a server that does not offer it is refused before AUTH. Failures
are sorted as transient (connection problems, 4xx replies) or permanent (5xx replies,
refused credentials, a certificate that does not verify); transient ones are retried
with backoff while the time budget lasts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import smtplib
import ssl
import time

from fastfn.runtime.secrets import Secret
from mailer.errors import SMTPError
from mailer.settings import Settings

log = logging.getLogger("mailer.smtp")

FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 2.0


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


def _send_once(settings: Settings, message: bytes, username: Secret,
               password: Secret, timeout: float) -> dict[str, tuple[int, bytes]]:
    context = _tls_context(settings)
    host, port = settings.smtp_server, settings.smtp_port
    if port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        client.ehlo()
        if port != 465:
            if not client.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    "STARTTLS not offered; credentials are never sent in plaintext")
            client.starttls(context=context)
            client.ehlo()
        client.login(username.reveal(), password.reveal())
        return client.sendmail(settings.email_from, list(settings.email_to), message)


async def send(settings: Settings, message: bytes, username: Secret, password: Secret,
               budget_s: float) -> dict[str, tuple[int, bytes]]:
    """Send, retrying transient failures until `budget_s` (from now) would be passed.

    Returns the recipients the server refused (empty when all were accepted)."""
    deadline = time.monotonic() + max(budget_s, 0.0)
    backoff = FIRST_BACKOFF_S
    attempt = 0
    while True:
        attempt += 1
        left = deadline - time.monotonic()
        timeout = max(0.5, min(settings.smtp_timeout_s, left)) if budget_s > 0 else \
            settings.smtp_timeout_s
        try:
            return await asyncio.to_thread(_send_once, settings, message, username, password,
                                           timeout)
        except Exception as exc:
            error = _classify(exc)
        wait = backoff * (0.5 + random.random())  # jitter: instances do not retry in step
        if not error.retryable or time.monotonic() + wait >= deadline:
            error.message = f"{error.message} (after {attempt} attempt(s))"
            error.args = (error.message,)
            raise error
        log.warning("SMTP attempt failed; retrying",
                    extra={"attempt": attempt, "error": error.message,
                           "wait_s": round(wait, 3)})
        await asyncio.sleep(wait)
        backoff = min(backoff * 2, MAX_BACKOFF_S)
