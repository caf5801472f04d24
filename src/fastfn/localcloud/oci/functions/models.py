"""Functions wire models and limits (both API versions)."""


from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from fastfn.localcloud.oci.core.wire import Wire

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


# Fields the service sets: a client that sends them back (a GET body edited and PUT) is
# not refused, they are ignored, as OCI ignores them.
READ_ONLY = frozenset({
    "id", "lifecycleState", "lifecycleDetails", "timeCreated", "timeUpdated",
    "invokeEndpoint", "compartmentId", "shape", "applicationId", "displayName",
    "subnetIds", "systemTags",
})


class Details(Wire):
    """A request body as OCI checks it: unknown fields are refused (400 naming the field),
    read-only ones ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        mine = {f.alias or name for name, f in cls.model_fields.items()}
        return {k: v for k, v in data.items() if k in mine or k not in READ_ONLY}


class ApplicationSettings(Details):
    config: ConfigMap | None = None
    network_security_group_ids: list[str] | None = None
    syslog_url: str | None = None
    trace_config: TraceConfig | None = None
    logging: dict[str, Any] | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None
    image_policy_config: dict[str, Any] | None = None
    security_attributes: dict[str, dict[str, Any]] | None = None


class CreateApplicationDetails(ApplicationSettings):
    compartment_id: str
    display_name: str = Field(min_length=1, max_length=255)
    subnet_ids: list[str] = Field(min_length=1)
    shape: Literal["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"] = "GENERIC_X86"


class UpdateApplicationDetails(ApplicationSettings):
    pass


class SourceDetails(Wire):
    """A function's image as stored (both API versions)."""

    source_type: Literal["CONTAINER_IMAGE"] = "CONTAINER_IMAGE"
    image: str = Field(min_length=1)
    image_digest: str | None = None


_ONLY_IMAGES = ("the local cloud runs container-image functions only "
                "(sourceType CONTAINER_IMAGE)")


class CreateSourceDetails(Details):
    """20260325 CreateFunctionSourceDetails: CONTAINER_IMAGE needs an image."""

    source_type: Literal["CONTAINER_IMAGE", "PRE_BUILT_FUNCTIONS", "ARCHIVE"]
    image: str | None = Field(default=None, min_length=1)
    image_digest: str | None = None
    pbf_listing_id: str | None = None
    archive_source_details: dict[str, Any] | None = None
    handler: str | None = None
    runtime_config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _image(self) -> CreateSourceDetails:
        if self.source_type != "CONTAINER_IMAGE":
            raise ValueError(_ONLY_IMAGES)
        if self.image is None:
            raise ValueError("image is required for sourceType CONTAINER_IMAGE")
        return self


class UpdateSourceDetails(Details):
    """20260325 UpdateFunctionSourceDetails: every field optional (a config edit sends
    sourceDetails without an image)."""

    source_type: Literal["CONTAINER_IMAGE", "ARCHIVE"]
    image: str | None = Field(default=None, min_length=1)
    image_digest: str | None = None
    archive_source_details: dict[str, Any] | None = None
    handler: str | None = None
    runtime_config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _image(self) -> UpdateSourceDetails:
        if self.source_type != "CONTAINER_IMAGE":
            raise ValueError(_ONLY_IMAGES)
        return self


class FunctionSettings(Details):
    """What Create and Update share in both API versions."""

    memory_in_mbs: int | None = Field(default=None, alias="memoryInMBs")
    config: ConfigMap | None = None
    timeout_in_seconds: int | None = Field(default=None, ge=5, le=300)
    detached_mode_timeout_in_seconds: int | None = Field(default=None, ge=5, le=3600)
    provisioned_concurrency_config: dict[str, Any] | None = None
    failure_destination: dict[str, Any] | None = None
    success_destination: dict[str, Any] | None = None
    trace_config: TraceConfig | None = None
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None

    @field_validator("memory_in_mbs")
    @classmethod
    def _memory(cls, value: int | None) -> int | None:
        if value is not None and value not in MEMORY_SIZES:
            raise ValueError(f"memoryInMBs must be one of {MEMORY_SIZES}")
        return value

    def image_change(self) -> tuple[str | None, str | None]:
        """(image, digest) this body sets; None for what it leaves as it is."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """The plain settings this body changes, as stored."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True,
                               exclude={"source_details", "image", "image_digest",
                                        "display_name", "application_id"})


class CreateFunctionDetails(FunctionSettings):
    """20260325 CreateFunctionDetails."""

    display_name: str = Field(min_length=1, max_length=255)
    application_id: str
    memory_in_mbs: int = Field(alias="memoryInMBs")  # required, as the API has it
    source_details: CreateSourceDetails

    def image_change(self) -> tuple[str | None, str | None]:
        return self.source_details.image, self.source_details.image_digest


class UpdateFunctionDetails(FunctionSettings):
    """20260325 UpdateFunctionDetails."""

    source_details: UpdateSourceDetails | None = None

    def image_change(self) -> tuple[str | None, str | None]:
        if self.source_details is None:
            return None, None
        return self.source_details.image, self.source_details.image_digest


class CreateFunctionDetailsV1(FunctionSettings):
    """20181201 CreateFunctionDetails: the image at the top level."""

    display_name: str = Field(min_length=1, max_length=255)
    application_id: str
    memory_in_mbs: int = Field(alias="memoryInMBs")
    image: str = Field(min_length=1)
    image_digest: str | None = None
    source_details: dict[str, Any] | None = None  # pre-built functions only

    @field_validator("source_details")
    @classmethod
    def _no_pbf(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            raise ValueError(_ONLY_IMAGES)
        return value

    def image_change(self) -> tuple[str | None, str | None]:
        return self.image, self.image_digest


class UpdateFunctionDetailsV1(FunctionSettings):
    """20181201 UpdateFunctionDetails."""

    image: str | None = Field(default=None, min_length=1)
    image_digest: str | None = None

    def image_change(self) -> tuple[str | None, str | None]:
        return self.image, self.image_digest


def create_model(version: str) -> type[FunctionSettings]:
    return CreateFunctionDetailsV1 if version == "20181201" else CreateFunctionDetails


def update_model(version: str) -> type[FunctionSettings]:
    return UpdateFunctionDetailsV1 if version == "20181201" else UpdateFunctionDetails
