"""The `pool:` section: an OCI instance pool behind a load balancer."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from fastfn.manifest.common import Section


class PoolSection(Section):
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    size: Annotated[int, Field(ge=1)] = 2
    shape: str = "VM.Standard.A1.Flex"
