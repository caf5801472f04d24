"""Functions wire models and limits (both API versions)."""


from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from fastfn.localcloud.oci.core.wire import Wire

if TYPE_CHECKING:
    pass

log = logging.getLogger("fastfn.localcloud.oci.functions")

APPLICATION = "fn_application"
FUNCTION = "fn_function"
WORK_REQUEST = "fn_work_request"
NEW_API = "20260325"
API_VERSIONS = ("20181201", "20260325")
SHAPES = ("GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM")
MEMORY_SIZES = (128, 256, 512, 1024, 2048, 3072)
MAX_CONFIG_BYTES = 4096
MAX_BODY_BYTES = 6 * 1024 * 1024
_CONFIG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Not passed back from the function's response: they describe the hop, not the result.
_HOP_HEADERS = {"content-length", "connection", "transfer-encoding", "keep-alive", "date",
                "server"}


def _check_config(config: dict[str, str]) -> dict[str, str]:
    for key in config:
        if not _CONFIG_KEY.match(key):
            raise ValueError(f"config key {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in config.items())
    if size > MAX_CONFIG_BYTES:
        raise ValueError(f"config is {size} bytes; the limit is {MAX_CONFIG_BYTES}")
    return config


ConfigMap = Annotated[dict[str, str], AfterValidator(_check_config)]


class TraceConfig(Wire):
    is_enabled: bool = False
    domain_id: str | None = None


class CreateApplicationDetails(Wire):
    compartment_id: str
    display_name: str = Field(min_length=1, max_length=255)
    subnet_ids: list[str] = Field(min_length=1)
    shape: Literal["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"] = "GENERIC_X86"
    config: ConfigMap | None = None
    network_security_group_ids: list[str] | None = None
    syslog_url: str | None = None
    trace_config: TraceConfig | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    image_policy_config: dict[str, Any] | None = None


class UpdateApplicationDetails(Wire):
    config: ConfigMap | None = None
    network_security_group_ids: list[str] | None = None
    syslog_url: str | None = None
    trace_config: TraceConfig | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    image_policy_config: dict[str, Any] | None = None


class SourceDetails(Wire):
    source_type: Literal["CONTAINER_IMAGE"] = "CONTAINER_IMAGE"
    image: str = Field(min_length=1)
    image_digest: str | None = None


class FunctionSettings(Wire):
    memory_in_mbs: int | None = Field(default=None, alias="memoryInMBs")
    config: ConfigMap | None = None
    timeout_in_seconds: int | None = Field(default=None, ge=5, le=300)
    detached_mode_timeout_in_seconds: int | None = Field(default=None, ge=5, le=3600)
    provisioned_concurrency_config: dict[str, Any] | None = None
    trace_config: TraceConfig | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    # 20260325
    source_details: SourceDetails | None = None
    # 20181201
    image: str | None = None
    image_digest: str | None = None

    @field_validator("memory_in_mbs")
    @classmethod
    def _memory(cls, value: int | None) -> int | None:
        if value is not None and value not in MEMORY_SIZES:
            raise ValueError(f"memoryInMBs must be one of {MEMORY_SIZES}")
        return value

    def source(self, version: str) -> SourceDetails | None:
        if version == "20181201":
            if self.image is None:
                return None
            return SourceDetails(image=self.image, image_digest=self.image_digest)
        return self.source_details


class CreateFunctionDetails(FunctionSettings):
    display_name: str = Field(min_length=1, max_length=255)
    application_id: str
    memory_in_mbs: int = Field(alias="memoryInMBs")  # required, as the API has it




