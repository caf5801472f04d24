"""Load Balancer wire models (API 20170115)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fastfn.localcloud.oci.core.wire import Wire

LOAD_BALANCER = "load_balancer"
WORK_REQUEST = "lb_work_request"


class HealthCheckerDetails(Wire):
    protocol: Literal["HTTP", "TCP"]
    url_path: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    return_code: int | None = Field(default=None, ge=100, le=599)
    retries: int = Field(default=3, ge=1, le=10)
    timeout_in_millis: int = Field(default=3000, ge=1, le=600000)
    interval_in_millis: int = Field(default=10000, ge=1, le=1800000)


class BackendDetails(Wire):
    ip_address: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    weight: int = Field(default=1, ge=1, le=100)
    backup: bool = False
    drain: bool = False
    offline: bool = False


class BackendSetDetails(Wire):
    """A backend set inside CreateLoadBalancerDetails: named by its key there."""

    policy: Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "IP_HASH"] = "ROUND_ROBIN"
    health_checker: HealthCheckerDetails
    backends: list[BackendDetails] = []


class CreateBackendSetDetails(Wire):
    name: str = Field(min_length=1, max_length=32)
    policy: Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "IP_HASH"] = "ROUND_ROBIN"
    health_checker: HealthCheckerDetails
    backends: list[BackendDetails] = []


class UpdateBackendDetails(Wire):
    # OCI requires all four.
    weight: int = Field(ge=1, le=100)
    backup: bool
    drain: bool
    offline: bool


class ListenerDetails(Wire):
    """A listener inside CreateLoadBalancerDetails: named by its key there."""

    default_backend_set_name: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["HTTP", "TCP"]


class CreateListenerDetails(Wire):
    name: str = Field(min_length=1, max_length=255)
    default_backend_set_name: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["HTTP", "TCP"]


class CreateLoadBalancerDetails(Wire):
    compartment_id: str = Field(min_length=1)
    display_name: str = Field(min_length=1, max_length=1024)
    shape_name: str = Field(min_length=1)
    subnet_ids: list[str] = []
    is_private: bool = False
    backend_sets: dict[str, BackendSetDetails] = {}
    listeners: dict[str, ListenerDetails] = {}
    freeform_tags: dict[str, str] | None = None


def backend_name(ip: str, port: int) -> str:
    return f"{ip}:{port}"
