"""The rollout's knobs (seed 002's environment variables) and the stage's pool settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RolloutSettings:
    """How a rolling update waits; every bound is a timeout, never a fixed sleep, except
    the drain: OCI tells no one when a draining backend's last connection closes."""

    max_wait_s: float = 1800.0  # MAX_WAIT_SECONDS: new backends healthy
    drain_timeout_s: float = 120.0  # BACKEND_DRAIN_TIMEOUT_SECONDS
    lb_wait_timeout_s: float = 300.0  # OCI_LB_WAIT_TIMEOUT_SECONDS: each LB/pool change
    max_surge: int = 1  # new instances per round: the pool goes N -> N+surge -> N
    vnic_subnet_id: str | None = None  # VNIC_SUBNET_ID: the VNIC whose IP is the backend
    healthcheck_url: str | None = None  # HEALTHCHECK_URL: post-deploy smoke test
    healthcheck_db_url: str | None = None  # HEALTHCHECK_DB_URL
    smoke_timeout_s: float = 60.0
    poll_interval_s: float = 1.0


@dataclass(frozen=True)
class InstanceSettings:
    """What the new instance configuration carries besides the Terraform outputs."""

    port: int | None = None  # the container's PORT; must equal backend_port
    config: dict[str, str] = field(default_factory=dict)  # env (secret references only)
    app_log_path: str = ""  # APP_LOG_PATH on the host and in the container
    drain_delay_s: float | None = None  # FASTFN_DRAIN_DELAY for `fastfn serve --http`
