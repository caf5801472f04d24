"""Secrets wire models, limits and the rules they check."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import Field

from fastfn.localcloud.oci.core.errors import invalid
from fastfn.localcloud.oci.core.wire import Wire

SECRET = "secret"
VERSION = "secret_version"
MAX_CONTENT_BYTES = 25 * 1024
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


def _check_content(content: SecretContentDetails) -> None:
    try:
        decoded = base64.b64decode(content.content, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("secretContent.content must be base64.") from None
    if len(decoded) > MAX_CONTENT_BYTES:
        raise invalid("Secret content is larger than 25 KB.")


def _version_key(secret_id: str, number: int) -> str:
    return f"{secret_id}/{number}"
