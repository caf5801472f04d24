"""EventBridge (CloudWatch Events) deliveries: the whole event to the event route."""

from __future__ import annotations

SOURCE = "aws:events"


def matches(event: object) -> bool:
    return (isinstance(event, dict) and "detail-type" in event and "source" in event
            and "detail" in event)
