"""Events wire models, limits and the rules they check."""

from __future__ import annotations

import fnmatch
import json
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


def outcome(response: Any) -> dict[str, Any]:
    """What a delivery records of the function's answer: the outer status, the app's
    status (Fn-Http-Status), its call id and, for a JSON body `{"status": "error",
    "category": ...}` (seed 003's error shape), the category and message. An app error is
    still DELIVERED, as on OCI: the function ran and answered."""
    header = getattr(response, "header", lambda name: None)
    app_status = header("Fn-Http-Status")
    found: dict[str, Any] = {
        "outerStatus": getattr(response, "status", None),
        "appStatus": int(app_status) if app_status and app_status.isdigit() else None,
        "callId": header("Fn-Call-Id"), "errorCategory": None, "appError": None,
    }
    try:
        body = json.loads(getattr(response, "body", b"") or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        found["errorCategory"] = str(body.get("category") or "error")[:100]
        found["appError"] = (f"{found['appStatus'] or ''} {found['errorCategory']}: "
                             f"{str(body.get('message', ''))[:300]}").strip()
    elif found["appStatus"] is not None and found["appStatus"] >= 400:
        found["appError"] = f"app answered {found['appStatus']}"
    return found
