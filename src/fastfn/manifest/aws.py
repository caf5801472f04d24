"""The `aws:` section: AWS Lambda settings and limits.

    aws:
      memory: 512              # MB, 128..10240
      timeout: 30              # s, 1..900
      architecture: x86_64     # or arm64 (the dependency wheels follow it)
      bucket: my-deploys       # S3 bucket for packages (default fastfn-<account>-<region>)
      log_retention_days: 30   # the stage's log group
      function_url:
        auth: NONE             # or AWS_IAM
        cors: {allow_origins: ["*"], allow_methods: [GET, POST], allow_headers: ["*"]}
      alarms:                  # seed 004's defaults
        errors: {threshold: 10, period: 300, evaluation_periods: 1}
        duration: {threshold_ms: 5000, period: 300, evaluation_periods: 2}
      canary:
        watch_seconds: 300     # how long `deploy --canary N` watches the alarms
      dependencies:            # how requirements.txt is resolved for Lambda
        index_url: https://pypi.org/simple
        find_links: [wheels/]
        no_index: false
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fastfn.manifest.common import Section

MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MAX_TIMEOUT_S = 900
# CloudWatch Logs accepts only these retention periods.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                  1827, 2192, 2557, 2922, 3288, 3653)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_METHOD = re.compile(r"^(\*|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$")
_ORIGIN = re.compile(r"^(\*|https?://[^\s/]+)$")
_HEADER = re.compile(r"^(\*|[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100})$")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cors(_Part):
    allow_origins: list[str] = Field(default_factory=lambda: ["*"], max_length=100)
    allow_methods: list[str] = Field(default_factory=lambda: ["*"], max_length=6)
    allow_headers: list[str] = Field(default_factory=list, max_length=100)
    expose_headers: list[str] = Field(default_factory=list, max_length=100)
    max_age: Annotated[int, Field(ge=0, le=86400)] = 0
    allow_credentials: bool = False

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} must be '*' or like 'https://app.example.com'")
        return value

    @field_validator("allow_methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        value = [m.upper() for m in value]
        for method in value:
            if not _METHOD.match(method):
                raise ValueError(f"{method!r} is not an HTTP method (or '*')")
        return value

    @field_validator("allow_headers", "expose_headers")
    @classmethod
    def _headers(cls, value: list[str]) -> list[str]:
        for header in value:
            if not _HEADER.match(header):
                raise ValueError(f"{header!r} is not a header name (or '*')")
        return value


class FunctionUrl(_Part):
    enabled: bool = True
    auth: Literal["NONE", "AWS_IAM"] = "NONE"
    cors: Cors | None = Field(default_factory=Cors)


class ErrorsAlarm(_Part):
    threshold: Annotated[int, Field(ge=1)] = 10
    period: Annotated[int, Field(ge=10, le=86400)] = 300
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] = 1


class DurationAlarm(_Part):
    threshold_ms: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_S * 1000)] = 5000
    period: Annotated[int, Field(ge=10, le=86400)] = 300
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] = 2


class Alarms(_Part):
    errors: ErrorsAlarm = Field(default_factory=ErrorsAlarm)
    duration: DurationAlarm = Field(default_factory=DurationAlarm)


class Canary(_Part):
    watch_seconds: Annotated[float, Field(ge=0, le=3600)] = 300


class Dependencies(_Part):
    index_url: str | None = None
    find_links: list[str] = Field(default_factory=list)
    no_index: bool = False


class AwsSection(Section):
    memory: Annotated[int, Field(ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)] = 512
    timeout: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_S)] = 30
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    bucket: str | None = None
    log_retention_days: int = 30
    function_url: FunctionUrl = Field(default_factory=FunctionUrl)
    alarms: Alarms = Field(default_factory=Alarms)
    canary: Canary = Field(default_factory=Canary)
    dependencies: Dependencies = Field(default_factory=Dependencies)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and (not _BUCKET.match(value) or ".." in value):
            raise ValueError("must be an S3 bucket name: 3-63 of a-z 0-9 . - , starting and "
                             "ending with a letter or digit")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch Logs' periods: "
                             f"{', '.join(map(str, RETENTION_DAYS))}")
        return value
