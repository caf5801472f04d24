"""Compute Management wire models: instance pools."""

from __future__ import annotations

from pydantic import Field

from fastfn.localcloud.oci.core.wire import Wire

INSTANCE_POOL = "instance_pool"
WORK_REQUEST = "compute_work_request"
MAX_POOL_SIZE = 20  # local processes: far below OCI's limit on purpose


class PlacementConfiguration(Wire):
    availability_domain: str = Field(min_length=1)
    primary_subnet_id: str | None = None
    fault_domains: list[str] | None = None


class AttachLoadBalancerDetails(Wire):
    load_balancer_id: str = Field(min_length=1)
    backend_set_name: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    vnic_selection: str = "PrimaryVnic"


class CreateInstancePoolDetails(Wire):
    compartment_id: str = Field(min_length=1)
    instance_configuration_id: str = Field(min_length=1)
    size: int = Field(ge=0, le=MAX_POOL_SIZE)
    placement_configurations: list[PlacementConfiguration] = Field(min_length=1)
    display_name: str | None = None
    load_balancers: list[AttachLoadBalancerDetails] = []
    freeform_tags: dict[str, str] | None = None


class UpdateInstancePoolDetails(Wire):
    instance_configuration_id: str | None = None
    size: int | None = Field(default=None, ge=0, le=MAX_POOL_SIZE)
    display_name: str | None = None


class DetachInstancePoolInstanceDetails(Wire):
    instance_id: str = Field(min_length=1)
    is_decrement_size: bool = True
    is_auto_terminate: bool = False
