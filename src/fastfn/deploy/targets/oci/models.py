"""What should exist for one stage on OCI Functions: an application holding one function.

Built from the manifest (`fastfn.yaml`) and the target's settings only; no remote calls.
Settings are flat dicts under the planner's keys so it diffs them without knowing the SDK;
`apply.py` maps them to the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastfn.deploy.errors import LimitError
from fastfn.deploy.models import TAG_SERVICE, TAG_STAGE, stage_key
from fastfn.manifest import (
    CONFIG_KEY,
    MAX_CONFIG_BYTES,
    MAX_TIMEOUT_S,
    MEMORY_MB,
    Manifest,
    ResolvedFunction,
)

# Application settings OCI fixes at create (UpdateApplicationDetails has no such field).
IMMUTABLE_APPLICATION_SETTINGS = ("shape", "subnet_ids")
DETACHED_TIMEOUT_RANGE = (5, 3600)
PROVISIONED_CONCURRENCY_MIN = {128: 40, 256: 20}


@dataclass(frozen=True)
class TargetSettings:
    """Where a stage goes: the compartment and network an application lives in."""

    compartment_id: str
    subnet_ids: tuple[str, ...]
    network_security_group_ids: tuple[str, ...] = ()
    syslog_url: str | None = None
    # Registry prefix images go under: <registry>/<service>:<stage>, e.g.
    # fra.ocir.io/<namespace>/<project>. The local cloud takes any host name.
    registry: str = "local.ocir.io/fastfn"


@dataclass(frozen=True)
class DesiredApplication:
    name: str
    compartment_id: str
    settings: dict[str, Any]  # shape, subnet_ids, network_security_group_ids, config, ...
    tags: dict[str, str]


@dataclass(frozen=True)
class DesiredFunction:
    name: str
    image: str  # repository:tag, no digest (the digest comes from the build)
    settings: dict[str, Any]  # memory, timeout, config, detached_timeout, ...
    tags: dict[str, str]


@dataclass(frozen=True)
class DesiredService:
    """One service in one stage: an application holding one function."""

    service: str
    stage: str
    source_dir: Path
    app: str  # module:attr
    application: DesiredApplication
    function: DesiredFunction
    # Config keys whose values are secret references (never values).
    secret_keys: frozenset[str] = field(default_factory=frozenset)

    def fingerprint(self) -> dict[str, Any]:
        return {"application": self.application.settings,
                "function": self.function.settings}


@dataclass(frozen=True)
class FunctionExtras:
    """Detached timeout and provisioned concurrency, when they come from elsewhere than the
    manifest (which carries both); None leaves the live value alone."""

    detached_timeout: int | None = None
    provisioned_concurrency: int | None = None  # a constant count; 0 turns it off


def desired_service(manifest: Manifest, source_dir: Path, stage: str | None,
                    target: TargetSettings,
                    extras: FunctionExtras | None = None) -> DesiredService:
    """The resources one stage of a service needs. Checks the limits first."""
    fn = manifest.resolve(stage)
    extras = extras or FunctionExtras(detached_timeout=fn.detached_timeout,
                                      provisioned_concurrency=fn.provisioned_concurrency)
    check_limits(fn, extras.detached_timeout, extras.provisioned_concurrency)
    key = stage_key(stage)
    tags = {TAG_SERVICE: manifest.name, TAG_STAGE: key}
    application = DesiredApplication(
        name=fn.name,  # stage-suffixed: each stage has an application of its own
        compartment_id=target.compartment_id,
        settings={
            "shape": fn.shape,
            "subnet_ids": sorted(target.subnet_ids),
            "network_security_group_ids": sorted(target.network_security_group_ids),
            "syslog_url": target.syslog_url,
            # All config goes on the function: one place to read, one place to drift.
            "config": {},
        },
        tags=tags,
    )
    function = DesiredFunction(
        name=fn.name,
        image=f"{target.registry}/{manifest.name}:{key}",
        settings={
            "memory": fn.memory,
            "timeout": fn.timeout,
            "config": fn.function_config(),
            **({"detached_timeout": extras.detached_timeout}
               if extras.detached_timeout is not None else {}),
            **({"provisioned_concurrency": extras.provisioned_concurrency}
               if extras.provisioned_concurrency is not None else {}),
        },
        tags=tags,
    )
    return DesiredService(service=manifest.name, stage=key, source_dir=source_dir,
                          app=fn.app, application=application, function=function,
                          secret_keys=frozenset(fn.secrets))


def check_limits(fn: ResolvedFunction, detached_timeout: int | None = None,
                 provisioned_concurrency: int | None = None) -> None:
    """The platform's limits, checked again here so no call is ever made that OCI would
    refuse half-way through a deploy (the manifest checks most of them already)."""
    problems = []
    if fn.memory not in MEMORY_MB:
        problems.append(f"memory {fn.memory} MB: must be one of {MEMORY_MB}")
    if not 1 <= fn.timeout <= MAX_TIMEOUT_S:
        problems.append(f"timeout {fn.timeout} s: must be 1..{MAX_TIMEOUT_S}")
    config = fn.function_config()
    bad_keys = [key for key in config if not CONFIG_KEY.match(key)]
    if bad_keys:
        problems.append(f"config keys {bad_keys} must match [A-Za-z_][A-Za-z0-9_]*")
    if fn.config_bytes() > MAX_CONFIG_BYTES:
        problems.append(f"function config is {fn.config_bytes()} bytes; OCI allows "
                        f"{MAX_CONFIG_BYTES}")
    low, high = DETACHED_TIMEOUT_RANGE
    if detached_timeout is not None and not low <= detached_timeout <= high:
        problems.append(f"detached timeout {detached_timeout} s: must be {low}..{high}")
    if provisioned_concurrency:
        # OCI's minimum count depends on memory: 40 at 128 MB, 20 at 256 MB, 10 above.
        minimum = PROVISIONED_CONCURRENCY_MIN.get(fn.memory, 10)
        if provisioned_concurrency < minimum:
            problems.append(f"provisioned concurrency {provisioned_concurrency}: at "
                            f"{fn.memory} MB it must be at least {minimum} (or 0: off)")
    if problems:
        raise LimitError(f"{fn.name}: " + "; ".join(problems))
