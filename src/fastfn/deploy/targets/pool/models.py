"""What a pool stage should run: the service as every target sees it, plus the `pool:`
section (with `--set` overrides), turned into the rollout's and the instances' settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fastfn.deploy.errors import LimitError
from fastfn.deploy.models import stage_key
from fastfn.deploy.targets.pool.settings import InstanceSettings, RolloutSettings
from fastfn.manifest import Manifest
from fastfn.manifest.pool import PoolSection


@dataclass(frozen=True)
class PoolDesired:
    service: str
    stage: str
    source_dir: Path
    app: str
    name: str  # <service>-<stage>
    section: PoolSection
    rollout: RolloutSettings
    instance: InstanceSettings
    state_key: str

    def fingerprint(self) -> dict[str, Any]:
        return {"env": self.instance.config, "port": self.section.port,
                "app_log_path": self.section.app_log_path,
                "drain_delay_seconds": self.section.drain_delay_seconds}


def with_overrides(section: PoolSection, overrides: dict[str, str]) -> PoolSection:
    """`--set key=value` over the manifest's section; errors name `--set key`."""
    if not overrides:
        return section
    try:
        return PoolSection.model_validate({**section.model_dump(), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise LimitError(f"--set {key}: {first['msg']}") from None


def desired_pool(manifest: Manifest, service_dir: Path, stage: str | None,
                 overrides: dict[str, str], poll_interval_s: float) -> PoolDesired:
    common = manifest.common(stage)
    section = with_overrides(manifest.section("pool", stage), overrides)
    rollout = RolloutSettings(
        max_wait_s=section.max_wait_seconds,
        drain_timeout_s=section.backend_drain_timeout_seconds,
        lb_wait_timeout_s=section.lb_wait_timeout_seconds, max_surge=section.max_surge,
        vnic_subnet_id=section.vnic_subnet_id, healthcheck_url=section.healthcheck_url,
        healthcheck_db_url=section.healthcheck_db_url, poll_interval_s=poll_interval_s)
    instance = InstanceSettings(port=section.port, config=common.function_config(),
                                app_log_path=section.app_log_path,
                                drain_delay_s=section.drain_delay_seconds)
    return PoolDesired(service=manifest.name, stage=stage_key(stage),
                       source_dir=Path(service_dir), app=manifest.app, name=common.name,
                       section=section, rollout=rollout, instance=instance,
                       state_key=section.state_key or f"{manifest.name}/terraform.tfstate")
