"""S3 event notifications: the whole event goes to the event route in one call."""

from __future__ import annotations

SOURCE = "aws:s3"


def matches(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (isinstance(records, list) and bool(records) and isinstance(records[0], dict)
            and records[0].get("eventSource") == SOURCE)
