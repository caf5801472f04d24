"""Logging wire models (oci.logging.models, oci.loggingsearch.models) and their checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from fastfn.localcloud.oci.core.wire import Wire

LOG_GROUP = "logging_log_group"
LOG = "logging_log"
WORK_REQUEST = "logging_work_request"
# Functions' invocation logs: the only service logs the local cloud keeps.
FUNCTIONS_SERVICE, INVOKE_CATEGORY = "functions", "invoke"
RETENTION_DAYS = tuple(range(30, 181, 30))


class CreateLogGroupDetails(Wire):
    compartment_id: str
    display_name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class UpdateLogGroupDetails(Wire):
    display_name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class Source(Wire):
    source_type: Literal["OCISERVICE"]
    service: str
    resource: str
    category: str
    parameters: dict[str, str] | None = None


class Configuration(Wire):
    compartment_id: str | None = None
    source: Source
    archiving: dict[str, Any] | None = None


class CreateLogDetails(Wire):
    display_name: str = Field(min_length=1, max_length=255)
    log_type: Literal["CUSTOM", "SERVICE"]
    is_enabled: bool = True
    configuration: Configuration | None = None
    retention_duration: int = 30
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class UpdateLogDetails(Wire):
    display_name: str | None = Field(default=None, min_length=1, max_length=255)
    is_enabled: bool | None = None
    retention_duration: int | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


class SearchLogsDetails(Wire):
    time_start: datetime
    time_end: datetime
    search_query: str = Field(min_length=1, max_length=10_000)
    is_return_field_info: bool = False
