"""JSON log lines on stderr, each carrying the call id of the call being handled.

Function logs are collected line by line (OCI Logging, CloudWatch): one JSON object per line
keeps them searchable. Request and response bodies are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from fastfn.runtime.context import current

_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = current()
        if ctx is not None:
            entry["call_id"] = ctx.call_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    known = logging.getLevelNamesMapping()
    root.setLevel(known.get(level.upper(), logging.INFO))
    if level.upper() not in known:
        logging.getLogger("fastfn").warning("unknown log level %r; using INFO", level)
