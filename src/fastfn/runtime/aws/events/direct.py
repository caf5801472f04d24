"""A direct invoke (`aws lambda invoke --payload ...`): any JSON that no other source
claims goes to the default route."""

from __future__ import annotations

SOURCE = "direct"


def matches(event: object) -> bool:
    return True
