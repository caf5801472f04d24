"""`fastfn.yaml`: one declarative description per service, with stages.

Validated with pydantic; every error names the key that is wrong. An existing Fn
`func.yaml` is read too (name, memory, timeout, config) so a seed project works as is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fastfn.runtime.secrets.references import reference_error

MEMORY_MB = (128, 256, 512, 1024, 2048, 3072)
MAX_TIMEOUT_S = 300
MAX_CONFIG_BYTES = 4096
CONFIG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*$")
Shape = Literal["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"]

MANIFEST_NAMES = ("fastfn.yaml", "fastfn.yml")


class ManifestError(ValueError):
    """The manifest is missing or invalid; the message names the file and the key."""


def _check_memory(value: int | None) -> int | None:
    if value is not None and value not in MEMORY_MB:
        raise ValueError(f"must be one of {', '.join(map(str, MEMORY_MB))} (MB), got {value}")
    return value


def _check_config(config: dict[str, str]) -> dict[str, str]:
    for key in config:
        if not CONFIG_KEY.match(key):
            raise ValueError(f"config key {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
    return config


def _check_secrets(secrets: dict[str, str]) -> dict[str, str]:
    _check_config(secrets)
    for key, ref in secrets.items():
        # One grammar for references, the runtime's: what deploys is what resolves. The
        # message never echoes the value: it may be a secret pasted by mistake.
        problem = reference_error(ref)
        if problem is not None:
            raise ValueError(f"secret {key} must be a reference, not a value: {problem}")
    return secrets


ConfigMap = dict[str, str]


class _Settings(BaseModel):
    """Settings that a stage may override."""

    model_config = ConfigDict(extra="forbid")

    memory: int | None = None
    timeout: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_S)] | None = None
    config: ConfigMap = Field(default_factory=dict)
    secrets: ConfigMap = Field(default_factory=dict)
    default_route: str | None = None
    event_route: str | None = None
    path_prefix: str | None = None
    # OCI: detached invocations may run 5-3600 s; provisioned concurrency is a constant
    # count of warm instances (0 turns it off; its minimum depends on memory).
    detached_timeout: Annotated[int, Field(ge=5, le=3600)] | None = None
    provisioned_concurrency: Annotated[int, Field(ge=0)] | None = None

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: int | None) -> int | None:
        return _check_memory(value)

    @field_validator("config", mode="before")
    @classmethod
    def _config_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _stringify(item) for key, item in value.items()}
        return value

    @field_validator("config")
    @classmethod
    def _config_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_config(value)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_secrets(value)

    @field_validator("default_route", "event_route")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None and not ROUTE.match(value):
            raise ValueError(f"must look like 'POST /items', got {value!r}")
        return value

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None or value in ("", "/"):
            return "" if value is not None else None
        if not value.startswith("/") or value.endswith("/") or " " in value:
            raise ValueError(
                f"must look like '/v1' (leading slash, no trailing slash), got {value!r}"
            )
        return value


def _stringify(value: Any) -> str:
    # Fn config values are strings; YAML turns 587 into an int and yes into a bool.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


class Stage(_Settings):
    pass


class Manifest(_Settings):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
    app: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")] = "main:app"
    shape: Shape = "GENERIC_X86"
    python: Annotated[str, Field(pattern=r"^3\.(1[1-9])$")] = "3.12"
    stages: dict[str, Stage] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _config_size(self) -> Manifest:
        for stage in [None, *self.stages]:
            resolved = self.resolve(stage)
            size = resolved.config_bytes()
            if size > MAX_CONFIG_BYTES:
                where = f"stages.{stage}.config" if stage else "config"
                raise ValueError(
                    f"{where}: function config is {size} bytes; OCI allows {MAX_CONFIG_BYTES}"
                )
        return self

    def resolve(self, stage: str | None = None) -> ResolvedFunction:
        """The function as deployed to one stage: base settings with the stage's overrides."""
        if stage is not None and stage not in self.stages:
            known = ", ".join(sorted(self.stages)) or "none defined"
            raise ManifestError(f"unknown stage {stage!r} (stages: {known})")
        override = self.stages.get(stage) if stage else None

        def pick(field: str) -> Any:
            value = getattr(override, field, None) if override else None
            return value if value is not None else getattr(self, field)

        config = dict(self.config)
        secrets = dict(self.secrets)
        if override:
            config.update(override.config)
            secrets.update(override.secrets)
        return ResolvedFunction(
            name=self.name if not stage else f"{self.name}-{stage}",
            service=self.name,
            stage=stage,
            app=self.app,
            shape=self.shape,
            memory=pick("memory") or 256,
            timeout=pick("timeout") or 30,
            config=config,
            secrets=secrets,
            default_route=pick("default_route"),
            event_route=pick("event_route"),
            path_prefix=pick("path_prefix") or "",
            detached_timeout=pick("detached_timeout"),
            provisioned_concurrency=pick("provisioned_concurrency"),
        )


class ResolvedFunction(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    service: str
    stage: str | None
    app: str
    shape: Shape
    memory: int
    timeout: int
    config: dict[str, str]
    secrets: dict[str, str]  # name -> reference; resolved by the function at start-up
    default_route: str | None
    event_route: str | None
    path_prefix: str
    detached_timeout: int | None = None  # None: leave the platform's value alone
    provisioned_concurrency: int | None = None

    def function_config(self) -> dict[str, str]:
        """What goes into the function's configuration (its environment) on the platform."""
        env = dict(self.config)
        env.update(self.secrets)  # references only, never values
        if self.default_route:
            env["FASTFN_DEFAULT_ROUTE"] = self.default_route
        if self.event_route:
            env["FASTFN_EVENT_ROUTE"] = self.event_route
        if self.path_prefix:
            env["FASTFN_ROOT_PATH"] = self.path_prefix
        return env

    def config_bytes(self) -> int:
        return len(json.dumps(self.function_config(), ensure_ascii=False).encode())


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {key}: {message}")
    return "\n".join(lines)


def parse(data: Any, source: str = "fastfn.yaml") -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: expected a mapping at the top level")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_format_errors(source, exc)) from None


def from_func_yaml(data: Any, source: str = "func.yaml") -> Manifest:
    """Read what fastfn needs from an Fn func.yaml: name, memory, timeout, config."""
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: expected a mapping at the top level")
    converted: dict[str, Any] = {"name": data.get("name")}
    for key in ("memory", "timeout", "config"):
        if key in data:
            converted[key] = data[key]
    return parse(converted, source)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path.name}: not valid YAML: {exc}") from None


def load(directory: Path) -> Manifest:
    """fastfn.yaml in `directory`, else its func.yaml."""
    for name in MANIFEST_NAMES:
        path = directory / name
        if path.is_file():
            return parse(_read_yaml(path), name)
    func_yaml = directory / "func.yaml"
    if func_yaml.is_file():
        return from_func_yaml(_read_yaml(func_yaml))
    raise ManifestError(f"no fastfn.yaml or func.yaml in {directory}")
