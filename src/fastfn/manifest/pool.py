"""The `pool:` section: an OCI instance pool behind a load balancer (seed 002).

Where the deploy reads its inputs (the Terraform state object in Object Storage) and the
rollout's knobs, named after the seed's environment variables. The pool's size, shape,
subnet and load balancer are Terraform's: the deploy reads them from the state's outputs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from fastfn.manifest.common import Section

MAX_WAIT_S = 86400


def _url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value


class PoolSection(Section):
    port: Annotated[int, Field(ge=1, le=65535)] = 8000  # the container's PORT
    size: Annotated[int, Field(ge=1)] = 2  # the local stack's size (Terraform's on OCI)
    shape: str = "VM.Standard.A1.Flex"
    # The Terraform state object: oci://<state_bucket>@<state_namespace>/<state_key>;
    # namespace empty: the tenancy's own.
    state_bucket: str = "tfstate"
    state_namespace: str = ""
    state_key: str = ""  # default: <service>/terraform.tfstate
    # Seed 002's knobs.
    max_wait_seconds: Annotated[int, Field(ge=1, le=MAX_WAIT_S)] = 1800
    backend_drain_timeout_seconds: Annotated[int, Field(ge=0, le=3600)] = 120
    lb_wait_timeout_seconds: Annotated[int, Field(ge=1, le=MAX_WAIT_S)] = 300
    max_surge: Annotated[int, Field(ge=1, le=20)] = 1
    vnic_subnet_id: str | None = None
    healthcheck_url: str | None = None
    healthcheck_db_url: str | None = None
    app_log_path: str = ""
    # `fastfn serve --http`: how long readiness is 503 before the server stops accepting.
    drain_delay_seconds: Annotated[float, Field(ge=0, le=600)] = 5.0

    _urls = field_validator("healthcheck_url", "healthcheck_db_url")(_url)

    @field_validator("app_log_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise ValueError(f"must be an absolute path, got {value!r}")
        return value
