"""Log redaction: every secret value this process has held is masked in log records."""

from __future__ import annotations

import logging
import threading
from typing import Any, Final
from urllib.parse import unquote, urlsplit

MASK: Final = "**********"
# Values shorter than this are not searched for in log records: masking every "abc" in
# every line would garble logs while protecting nothing worth the name.
MIN_REDACTED_LENGTH: Final = 4


class _KnownValues:
    """Every secret value this process has held (and the password inside a URL-shaped one),
    longest first so a DSN is masked whole before its password is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.ordered: tuple[str, ...] = ()

    def add(self, raw: bytes) -> None:
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return
        candidates = {text}
        if "://" in text:
            try:
                password = urlsplit(text.strip()).password
            except ValueError:
                password = None
            if password:
                candidates |= {password, unquote(password)}
        fresh = {c for c in candidates if len(c) >= MIN_REDACTED_LENGTH} - self._values
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            self.ordered = tuple(sorted(self._values, key=len, reverse=True))


known_values = _KnownValues()


def redact(text: str) -> str:
    """`text` with every known secret value replaced by **********."""
    for value in known_values.ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


_RECORD_TEXT_SKIP = frozenset({"name", "levelname", "pathname", "filename", "module",
                               "funcName", "processName", "threadName", "taskName"})


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask known secret values in a record's message, arguments, exception and extras."""
    if not known_values.ordered:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it itself later
        return record
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for key, value in list(vars(record).items()):
        if isinstance(value, str) and key not in _RECORD_TEXT_SKIP and key != "msg":
            setattr(record, key, redact(value))
    return record


class SecretRedactingFilter(logging.Filter):
    """A handler filter that masks known secret values (for handlers you set up yourself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_install_lock = threading.Lock()
_factory_installed = False


def install_log_redaction(*handlers: logging.Handler) -> SecretRedactingFilter:
    """Mask known secret values in log output. Idempotent; call once logging is set up.

    Two hooks, because neither covers everything alone: the log record factory is wrapped
    so every record's message, arguments and exception are masked whatever handler gets
    it (including handlers added later); and a SecretRedactingFilter goes on the root
    logger's current handlers and on `handlers`, which also masks `extra=` fields (logging
    sets those after the factory has returned). Handlers added later should get
    `handler.addFilter(SecretRedactingFilter())` too.
    """
    global _factory_installed
    with _install_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return redact_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True
        redaction = SecretRedactingFilter()
        for handler in (*logging.getLogger().handlers, *handlers):
            if not any(isinstance(f, SecretRedactingFilter) for f in handler.filters):
                handler.addFilter(redaction)
        return redaction
