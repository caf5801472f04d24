"""Compute wire models: instance configurations and the launch details they carry."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from fastfn.localcloud.oci.core.wire import Wire

INSTANCE_CONFIGURATION = "instance_configuration"
MAX_METADATA_BYTES = 32 * 1024  # OCI's limit for an instance's metadata


class InstanceSourceDetails(Wire):
    source_type: Literal["image", "bootVolume"]
    image_id: str | None = None


class LaunchInstanceDetails(Wire):
    """What a local instance needs: image, shape and metadata (user_data, env, PORT)."""

    compartment_id: str | None = None
    display_name: str | None = None
    availability_domain: str | None = None
    shape: str | None = None
    shape_config: dict[str, Any] | None = None  # ocpus, memoryInGBs: kept, not enforced
    create_vnic_details: dict[str, Any] | None = None  # the pool's placement decides
    agent_config: dict[str, Any] | None = None
    source_details: InstanceSourceDetails | None = None
    metadata: dict[str, str] | None = None
    extended_metadata: dict[str, Any] | None = None
    freeform_tags: dict[str, str] | None = None


class InstanceDetails(Wire):
    instance_type: Literal["compute"]
    launch_details: LaunchInstanceDetails | None = None


class CreateInstanceConfigurationDetails(Wire):
    compartment_id: str = Field(min_length=1)
    source: Literal["NONE"] = "NONE"
    display_name: str | None = Field(default=None, max_length=255)
    instance_details: InstanceDetails
    freeform_tags: dict[str, str] | None = None
    defined_tags: dict[str, dict[str, Any]] | None = None


def metadata_size(details: LaunchInstanceDetails) -> int:
    return sum(len(k) + len(v) for k, v in (details.metadata or {}).items())
