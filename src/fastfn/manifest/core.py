"""`fastfn.yaml`'s model: the service (name, app, config, secrets, routes), its stages and
one section per target (`oci:`, `aws:`, `pool:`).

A stage overrides any of the shared keys and any key of a target's section:
`stages: {prod: {config: {LEVEL: warning}, aws: {memory: 1024}}}`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fastfn.manifest import common
from fastfn.manifest.aws import AwsSection
from fastfn.manifest.common import (
    MAX_CONFIG_BYTES,
    ManifestError,
    ResolvedService,
    Section,
)
from fastfn.manifest.oci import OciSection, ResolvedFunction, resolve_function
from fastfn.manifest.pool import PoolSection

TargetKind = Literal["oci", "aws", "pool"]
SECTIONS: dict[str, type[Section]] = {"oci": OciSection, "aws": AwsSection,
                                      "pool": PoolSection}
ConfigMap = dict[str, str]


class _Shared(BaseModel):
    """The keys a stage may override, besides the target sections."""

    model_config = ConfigDict(extra="forbid")

    config: ConfigMap = Field(default_factory=dict)
    secrets: ConfigMap = Field(default_factory=dict)
    default_route: str | None = None
    event_route: str | None = None
    path_prefix: str | None = None

    @field_validator("config", mode="before")
    @classmethod
    def _config_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: common.stringify(item) for key, item in value.items()}
        return value

    @field_validator("config")
    @classmethod
    def _config_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return common.check_config(value)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        return common.check_secrets(value)

    @field_validator("default_route", "event_route")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        return common.check_route(value)

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        return common.check_prefix(value)


class Stage(_Shared):
    # Overrides: only the keys given replace the base section's (checked when merged).
    oci: dict[str, Any] | None = None
    aws: dict[str, Any] | None = None
    pool: dict[str, Any] | None = None


class Manifest(_Shared):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
    app: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")] = "main:app"
    python: Annotated[str, Field(pattern=r"^3\.(1[1-9])$")] = "3.12"
    target: TargetKind = "oci"  # where `fastfn deploy` goes without --target
    oci: OciSection = Field(default_factory=OciSection)
    aws: AwsSection = Field(default_factory=AwsSection)
    pool: PoolSection = Field(default_factory=PoolSection)
    stages: dict[str, Stage] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _stages_valid(self) -> Manifest:
        for stage in [None, *self.stages]:
            where = f"stages.{stage}" if stage else ""
            for kind in SECTIONS:
                try:
                    self.section(kind, stage)
                except ManifestError as exc:
                    raise ValueError(str(exc)) from None
            size = self.common(stage).config_bytes()
            if size > MAX_CONFIG_BYTES:
                key = f"{where}.config" if where else "config"
                raise ValueError(f"{key}: function config is {size} bytes; OCI and Lambda "
                                 f"allow {MAX_CONFIG_BYTES}")
        return self

    def _stage(self, stage: str | None) -> Stage | None:
        if stage is None:
            return None
        if stage not in self.stages:
            known = ", ".join(sorted(self.stages)) or "none defined"
            raise ManifestError(f"unknown stage {stage!r} (stages: {known})")
        return self.stages[stage]

    def section(self, kind: str, stage: str | None = None) -> Any:
        """A target's section for one stage: the base keys with the stage's overrides."""
        base: Section = getattr(self, kind)
        override = getattr(self._stage(stage), kind, None)
        if not override:
            return base
        merged = _deep_merge(base.model_dump(exclude_unset=True), override)
        try:
            return SECTIONS[kind].model_validate(merged)
        except Exception as exc:  # a pydantic ValidationError, re-worded with its key
            from pydantic import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            problems = "; ".join(
                f"stages.{stage}.{kind}.{'.'.join(map(str, e['loc']))}: "
                f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            raise ManifestError(problems) from None

    def common(self, stage: str | None = None) -> ResolvedService:
        """What every target deploys for one stage: name, app, config, secrets, routes."""
        override = self._stage(stage)

        def pick(field: str) -> Any:
            value = getattr(override, field, None) if override else None
            return value if value is not None else getattr(self, field)

        config, secrets = dict(self.config), dict(self.secrets)
        if override:
            config.update(override.config)
            secrets.update(override.secrets)
        return ResolvedService(
            name=self.name if not stage else f"{self.name}-{stage}", service=self.name,
            stage=stage, app=self.app, python=self.python, config=config, secrets=secrets,
            default_route=pick("default_route"), event_route=pick("event_route"),
            path_prefix=pick("path_prefix") or "")

    def resolve(self, stage: str | None = None) -> ResolvedFunction:
        """The stage as an OCI function (what the local Fn platform also runs)."""
        return resolve_function(self.common(stage), self.section("oci", stage))


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
