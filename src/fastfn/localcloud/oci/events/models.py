"""Events wire models, limits and the rules they check."""

from __future__ import annotations

import fnmatch
from typing import Any, Literal

from pydantic import Field

from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.core.ids import ocid
from fastfn.localcloud.oci.core.store import Store
from fastfn.localcloud.oci.core.wire import (
    Wire,
    load_json,
)

RULE = "events_rule"
DELIVERY = "events_delivery"
# Delays between attempts; the first attempt is immediate. OCI retries event delivery for
# a long time; locally a short schedule keeps failures visible.
DEFAULT_RETRY_DELAYS = (1.0, 4.0, 15.0, 60.0)
PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"


class ActionDetails(Wire):
    action_type: Literal["FAAS", "ONS", "OSS"]
    is_enabled: bool = True
    description: str | None = None
    function_id: str | None = None
    topic_id: str | None = None
    stream_id: str | None = None


class ActionDetailsList(Wire):
    actions: list[ActionDetails] = Field(min_length=1)


class CreateRuleDetails(Wire):
    display_name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    is_enabled: bool
    condition: str
    compartment_id: str
    actions: ActionDetailsList
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class UpdateRuleDetails(Wire):
    display_name: str | None = None
    description: str | None = None
    is_enabled: bool | None = None
    condition: str | None = None
    actions: ActionDetailsList | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


def parse_condition(text: str) -> dict[str, Any]:
    condition = load_json(text, "condition")
    if not isinstance(condition, dict):
        raise invalid("condition must be a JSON object.")
    unknown = set(condition) - {"eventType", "data", "source", "eventTypeVersion",
                                "cloudEventsVersion", "contentType", "extensions"}
    if unknown:
        raise invalid(f"Unknown attributes in condition: {', '.join(sorted(unknown))}.")
    return condition


def deliveries(store: Store, state: str | None = None) -> list[dict[str, Any]]:
    """Event deliveries (PENDING, DELIVERED or FAILED), oldest first, without payloads."""
    found = store.find(DELIVERY)
    if state:
        found = [d for d in found if d["state"] == state.upper()]
    found.sort(key=lambda d: d["timeCreated"])
    return [{k: v for k, v in d.items() if k != "event"} for d in found]


def matches(condition: Any, value: Any) -> bool:
    """Does an event value satisfy a condition value (OCI rule filter semantics)?"""
    if isinstance(condition, dict):
        if not isinstance(value, dict):
            return False
        return all(k in value and matches(v, value[k]) for k, v in condition.items())
    if isinstance(condition, list):
        return any(matches(c, value) for c in condition)
    if isinstance(condition, str):
        if isinstance(value, list):
            return any(matches(condition, v) for v in value)
        return isinstance(value, str) and fnmatch.fnmatchcase(value, condition)
    return condition == value


def _action_doc(details: ActionDetails, region: str) -> dict[str, Any]:
    doc = details.wire()
    doc.update({"id": ocid("eventaction", region), "lifecycleState": "ACTIVE"})
    return doc
