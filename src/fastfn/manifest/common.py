"""What every target shares: config and secret checks, routes, and the resolved service.

A target's own section (`oci.py`, `aws.py`, `pool.py`) adds only what is its own; the
name, app, config, secrets and routes of a service are the same wherever it runs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from fastfn.runtime.secrets.references import reference_error

# OCI function config and Lambda environment variables are both capped at 4 KB in total.
MAX_CONFIG_BYTES = 4096
CONFIG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*$")


class ManifestError(ValueError):
    """The manifest is missing or invalid; the message names the file and the key."""


def check_config(config: dict[str, str]) -> dict[str, str]:
    for key in config:
        if not CONFIG_KEY.match(key):
            raise ValueError(f"config key {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
    return config


def check_secrets(secrets: dict[str, str]) -> dict[str, str]:
    check_config(secrets)
    for key, ref in secrets.items():
        # One grammar for references, the runtime's: what deploys is what resolves. The
        # message never echoes the value: it may be a secret pasted by mistake.
        problem = reference_error(ref)
        if problem is not None:
            raise ValueError(f"secret {key} must be a reference, not a value: {problem}")
    return secrets


def check_route(value: str | None) -> str | None:
    if value is not None and not ROUTE.match(value):
        raise ValueError(f"must look like 'POST /items', got {value!r}")
    return value


def check_prefix(value: str | None) -> str | None:
    if value is None or value in ("", "/"):
        return "" if value is not None else None
    if not value.startswith("/") or value.endswith("/") or " " in value:
        raise ValueError(f"must look like '/v1' (leading slash, no trailing slash), got {value!r}")
    return value


def stringify(value: Any) -> str:
    # Config values are strings on every platform; YAML turns 587 into an int, yes into a bool.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


class Section(BaseModel):
    """A target's own settings (`oci:`, `aws:`, `pool:`); a stage may override any key."""

    model_config = ConfigDict(extra="forbid")


class ResolvedService(BaseModel):
    """One service in one stage as every target sees it: base settings with the stage's
    overrides, the name stage-suffixed."""

    model_config = ConfigDict(frozen=True)

    name: str  # <service>-<stage>, or <service> without a stage
    service: str
    stage: str | None
    app: str
    python: str
    config: dict[str, str]
    secrets: dict[str, str]  # name -> reference; resolved by the function at start-up
    default_route: str | None
    event_route: str | None
    path_prefix: str

    def function_config(self) -> dict[str, str]:
        """The environment the platform gives the function (OCI config, Lambda env)."""
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
