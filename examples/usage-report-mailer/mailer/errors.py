"""The seed's six error categories.

Each error says whether trying again can help (`retryable`): a transient failure (SMTP or
a service unreachable, 4xx from the SMTP server) is retried within the call and then
answered so that the event is redelivered; a permanent one (bad credentials, an invalid
file, a wrong event) is reported once and never retried. Messages never hold secret values.
"""

from __future__ import annotations

from fastfn.runtime.failure import CallFailed


class MailerError(Exception):
    category = "MailerError"
    status = 500  # the app status that travels in Fn-Http-Status for a permanent failure

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None
                 ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        if status is not None:
            self.status = status


class ParseError(MailerError):
    category = "ParseError"
    status = 400


class AuthError(MailerError):
    category = "AuthError"
    status = 500


class ConfigError(MailerError):
    category = "ConfigError"
    status = 500


class StorageError(MailerError):
    category = "StorageError"
    status = 422


class VaultError(MailerError):
    category = "VaultError"
    status = 500


class SMTPError(MailerError):
    """`outcome_unknown`: the whole message, end of DATA included, was written and the
    server's reply to it never came (a timeout, the deadline, a dropped connection). The
    server may have accepted it: sending it again may make a second copy."""

    category = "SMTPError"
    status = 502

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None,
                 outcome_unknown: bool = False) -> None:
        super().__init__(message, retryable=retryable, status=status)
        self.outcome_unknown = outcome_unknown


class Redeliver(CallFailed):
    """Raised out of the endpoint after a transient failure: the fastfn runtime answers
    CallFailed with an outer 502 (logged without a traceback), which OCI Events counts as a
    failed delivery and retries. An app-level 5xx would travel inside an outer 200 and
    count as delivered."""
