"""Secrets wire models, limits and the rules they check."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.core.ids import now
from fastfn.localcloud.oci.core.wire import Wire

SECRET = "secret"
VERSION = "secret_version"
MAX_CONTENT_BYTES = 25 * 1024
MAX_DELETION_DAYS = 30
STAGES = ("CURRENT", "PENDING", "LATEST", "PREVIOUS", "DEPRECATED")


class SecretContentDetails(Wire):
    content_type: Literal["BASE64"] = "BASE64"
    content: str
    name: str | None = None
    stage: Literal["CURRENT", "PENDING"] = "CURRENT"


class CreateSecretDetails(Wire):
    compartment_id: str
    secret_name: str = Field(min_length=1, max_length=255)
    vault_id: str
    key_id: str  # required by the API; the local vault does not encrypt with it
    secret_content: SecretContentDetails
    description: str | None = None
    metadata: dict[str, Any] | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class UpdateSecretDetails(Wire):
    current_version_number: int | None = None
    secret_content: SecretContentDetails | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class ScheduleSecretDeletionDetails(Wire):
    time_of_deletion: datetime | None = None


def deletion_time(given: datetime | None) -> datetime:
    """When a scheduled deletion happens: 1 to 30 days ahead, 30 when not given."""
    start = now()
    if given is None:
        return start + timedelta(days=MAX_DELETION_DAYS)
    if given.tzinfo is None:
        raise invalid("timeOfDeletion must be an RFC 3339 time with a zone.")
    if not start + timedelta(days=1) - timedelta(minutes=5) <= given \
            <= start + timedelta(days=MAX_DELETION_DAYS, minutes=5):
        raise invalid("timeOfDeletion must be between 1 and 30 days from now.")
    return given


def _check_content(content: SecretContentDetails) -> None:
    try:
        decoded = base64.b64decode(content.content, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("secretContent.content must be base64.") from None
    if len(decoded) > MAX_CONTENT_BYTES:
        raise invalid("Secret content is larger than 25 KB.")


def _version_key(secret_id: str, number: int) -> str:
    return f"{secret_id}/{number}"
