"""The `oci:` section: OCI Functions settings and limits.

The old top-level keys (`memory`, `timeout`, `shape`, `detached_timeout`,
`provisioned_concurrency`) are read as this section (see `load.py`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from fastfn.manifest.common import ResolvedService, Section

MEMORY_MB = (128, 256, 512, 1024, 2048, 3072)
MAX_TIMEOUT_S = 300
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_S = 30
Shape = Literal["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"]
LEGACY_KEYS = ("memory", "timeout", "shape", "detached_timeout", "provisioned_concurrency")


class OciSection(Section):
    memory: int | None = None
    timeout: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_S)] | None = None
    shape: Shape | None = None
    # Detached invocations may run 5-3600 s; provisioned concurrency is a constant count
    # of warm instances (0 turns it off; its minimum depends on memory).
    detached_timeout: Annotated[int, Field(ge=5, le=3600)] | None = None
    provisioned_concurrency: Annotated[int, Field(ge=0)] | None = None

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: int | None) -> int | None:
        if value is not None and value not in MEMORY_MB:
            raise ValueError(f"must be one of {', '.join(map(str, MEMORY_MB))} (MB), got {value}")
        return value


class ResolvedFunction(ResolvedService):
    """One stage of a service as an OCI function (and as the local Fn platform runs it)."""

    shape: Shape
    memory: int
    timeout: int
    detached_timeout: int | None = None  # None: leave the platform's value alone
    provisioned_concurrency: int | None = None


def resolve_function(service: ResolvedService, section: OciSection) -> ResolvedFunction:
    return ResolvedFunction(
        **service.model_dump(),
        shape=section.shape or "GENERIC_X86",
        memory=section.memory or DEFAULT_MEMORY_MB,
        timeout=section.timeout or DEFAULT_TIMEOUT_S,
        detached_timeout=section.detached_timeout,
        provisioned_concurrency=section.provisioned_concurrency,
    )
