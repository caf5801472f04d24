"""The `aws:` section: AWS Lambda settings and limits."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from fastfn.manifest.common import Section

MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MAX_TIMEOUT_S = 900


class AwsSection(Section):
    memory: Annotated[int, Field(ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)] = 512
    timeout: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_S)] = 30
    architecture: Literal["x86_64", "arm64"] = "x86_64"
