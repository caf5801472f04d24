"""The instance-pool target (seed 002): a rolling update of an OCI instance pool behind a
load balancer, every input read from the Terraform outputs in the state object.

    desired  the manifest's service and `pool:` section (limits checked)
    build    the image by digest (the local image store, or `--image` for OCI)
    observe  the outputs (failing fast naming every missing one), the pool, its
             configuration, members and their backend VNICs (read-only)
    plan     port checks, then Push + the rollout's steps (rollout.py)
    apply    one step, waited for (apply.py); the health wait rolls a broken version back

`fastfn rollback` hands the previous deploy's `instance_configuration` in `artifact.refs`:
the same rollout, to that configuration, with nothing created.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fastfn.deploy.build import ImageBuilder
from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.plan import Mode, Plan, PlanOptions, SettingChange, settings_diff
from fastfn.deploy.steps import Artifact, Push, Step
from fastfn.deploy.targets.pool.apply import Report, Rollout
from fastfn.deploy.targets.pool.configuration import launch_details
from fastfn.deploy.targets.pool.models import PoolDesired, desired_pool
from fastfn.deploy.targets.pool.observe import Clients, PoolObserved, observe
from fastfn.deploy.targets.pool.outputs import PoolOutputs, read_outputs
from fastfn.deploy.targets.pool.rollout import port_refusals, rollout_steps, vnic_refusals
from fastfn.manifest import Manifest

KIND = "pool"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class PoolTarget:
    kind = KIND

    def __init__(self, clients: Clients, builder: ImageBuilder, *, state_bucket: str = "",
                 state_namespace: str = "", overrides: dict[str, str] | None = None,
                 poll_interval_s: float = 5.0, report: Report | None = None,
                 where: dict[str, str] | None = None, lease_compartment: str = "") -> None:
        self.clients = clients
        self.lease_compartment = lease_compartment
        self.builder = builder
        self.overrides = dict(overrides or {})
        self.poll_interval_s = poll_interval_s
        self.report: Report = report or _stderr
        self.where = dict(where or {})
        self._state = (state_bucket, state_namespace)
        self._rollout: Rollout | None = None

    def describe(self) -> dict[str, str]:
        return {"kind": KIND, **self.where}

    # -- pure -------------------------------------------------------------------------------

    def desired(self, manifest: Manifest, service_dir: Path,
                stage: str | None) -> PoolDesired:
        return desired_pool(manifest, service_dir, stage, self.overrides,
                            self.poll_interval_s)

    def build(self, desired: PoolDesired) -> Artifact:
        return self.builder.build(desired)

    def plan(self, desired: PoolDesired, artifact: Artifact | None, observed: PoolObserved,
             mode: Mode = "full", options: PlanOptions | None = None) -> Plan:
        options = options or PlanOptions()
        if options.canary_percent is not None or mode == "promote":
            raise TargetError("an instance pool has no traffic split between versions: "
                              "--canary and promote are for the aws target")
        outputs = self._outputs(observed)

        def made(steps: list[Step], changes: list[SettingChange],
                 refusals: list[str]) -> Plan:
            return Plan(desired.service, desired.stage, mode, steps, changes, refusals,
                        artifact, observed)

        if mode == "destroy":
            return made([], [], ["the pool, load balancer and network are Terraform's: "
                                 "destroy them with `terraform destroy` in infra/"])
        if artifact is None:
            raise BuildError(f"a {mode} plan needs the image")
        refusals = port_refusals(outputs, observed, desired.instance)
        refusals += vnic_refusals(list(observed.members))
        image = f"{artifact.image}@{artifact.digest}"
        changes = [] if artifact.digest == observed.digest else [
            SettingChange("instance_configuration", "image", observed.image or None, image)]
        if mode == "rollback":
            previous = artifact.refs.get("instance_configuration")
            if not previous:
                return made([], changes, ["the previous deploy recorded no instance "
                                          "configuration to roll back to"])
            if previous == observed.configuration_id and observed.converged:
                return made([], [], refusals)
            return made(rollout_steps(outputs, observed, desired.rollout, None, previous),
                        changes, refusals)
        wanted = launch_details(outputs, image, desired.name, artifact.digest[7:19],
                                desired.instance)
        if mode == "image-only" and observed.env:
            wanted["env"] = dict(observed.env)  # the image alone changes
        changes += self._env_changes(observed, wanted["env"], desired)
        if not changes and observed.converged:
            return made([], [], refusals)
        steps: list[Step] = [Push(artifact, desired.source_dir, desired.app)]
        steps += rollout_steps(outputs, observed, desired.rollout, wanted)
        return made(steps, changes, refusals)

    @staticmethod
    def _env_changes(observed: PoolObserved, env: dict[str, str],
                     desired: PoolDesired) -> list[SettingChange]:
        return settings_diff("instance_configuration", {"config": observed.env},
                             {"config": env}, frozenset(desired.instance.config))

    def drift(self, desired: PoolDesired, observed: PoolObserved) -> list[SettingChange]:
        outputs = self._outputs(observed)
        env = launch_details(outputs, observed.image, desired.name, "drift",
                             desired.instance)["env"]
        return self._env_changes(observed, env, desired)

    @staticmethod
    def _outputs(observed: PoolObserved) -> PoolOutputs:
        if observed.outputs is None:
            raise TargetError("the pool was observed without its Terraform outputs")
        return observed.outputs

    # -- remote -----------------------------------------------------------------------------

    def outputs(self, desired: PoolDesired) -> PoolOutputs:
        bucket, namespace = self._state
        bucket = bucket or desired.section.state_bucket
        namespace = namespace or desired.section.state_namespace or str(
            self.clients.storage.get_namespace().data)
        return read_outputs(self.clients.storage, namespace, bucket, desired.state_key)

    def observe(self, desired: PoolDesired) -> PoolObserved:
        outputs = self.outputs(desired)
        self._rollout = Rollout(self.clients, outputs, desired.rollout, self.report)
        return observe(self.clients, outputs, desired.rollout.vnic_subnet_id)

    def lease_store(self) -> Any:
        """Where the stage's deploy lease is held (one deploy of a stage at a time, from
        any machine: seed 002's per-environment concurrency): Object Storage."""
        from fastfn.deploy.leases.oci_object_storage import ObjectStorageLeases

        if not self.lease_compartment:
            raise TargetError("the pool target needs a compartment for its deploy lease: "
                              "pass --compartment")
        return ObjectStorageLeases(self.clients.storage, self.lease_compartment)

    @property
    def rollout(self) -> Rollout:
        if self._rollout is None:
            raise TargetError("the pool target applies steps only after observing")
        return self._rollout

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        if isinstance(step, Push):
            self.builder.push(step)
            return None
        return self.rollout.apply(step, ids)


def local_pool_target(state_dir: Path, **kwargs: Any) -> PoolTarget:
    """The local cloud running on `state_dir` as a pool target."""
    from fastfn.deploy.targets.pool.local import LocalPoolImages, find_cloud, local_clients

    cloud = find_cloud(state_dir)
    kwargs.setdefault("poll_interval_s", 0.2)
    return PoolTarget(local_clients(cloud), LocalPoolImages(cloud),
                      where={"endpoint": cloud.endpoint},
                      lease_compartment=cloud.compartment_id, **kwargs)


def oci_pool_target(profile: str, image: str | None, config_file: str | None = None,
                    region: str | None = None, compartment: str | None = None,
                    **kwargs: Any) -> PoolTarget:
    """Real OCI with an oci config profile: an API key or a session token (what the
    workflow's OIDC token exchange leaves)."""
    import oci

    from fastfn.deploy.build import PrebuiltImage
    from fastfn.deploy.targets.pool.container import pool_buildx_command

    config = oci.config.from_file(config_file or oci.config.DEFAULT_LOCATION, profile)
    if region:
        config["region"] = region
    signer = None
    if config.get("security_token_file"):
        token = Path(config["security_token_file"]).expanduser().read_text().strip()
        key = oci.signer.load_private_key_from_file(config["key_file"])
        signer = oci.auth.signers.SecurityTokenSigner(token, key)
    builder = PrebuiltImage(image, lambda d: pool_buildx_command(d.section.shape,
                                                                 "<ocir_repo_url>:<tag>"))
    return PoolTarget(Clients(config, signer=signer), builder,
                      where={"region": str(config.get("region", ""))},
                      lease_compartment=compartment or str(config.get("tenancy", "")),
                      **kwargs)
