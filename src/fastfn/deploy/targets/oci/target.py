"""The OCI Functions target, through the current oci SDK (Functions API 20260325).

One application holding one function per stage. Real OCI takes an oci config profile, a
compartment and subnets, and an image already pushed (`oci_target`); the local cloud is
this same target with the SDK pointed at it (`local.local_cloud_target`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastfn.deploy.build import ImageBuilder, PrebuiltImage
from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.leases.oci_object_storage import ObjectStorageLeases
from fastfn.deploy.plan import Mode, Plan, PlanOptions, SettingChange
from fastfn.deploy.steps import PENDING_DIGEST, Artifact, Call, Push, Step
from fastfn.deploy.targets.oci import plan as planner
from fastfn.deploy.targets.oci.apply import apply_call
from fastfn.deploy.targets.oci.models import DesiredService, TargetSettings, desired_service
from fastfn.deploy.targets.oci.observe import observe
from fastfn.deploy.targets.oci.plan import Observed
from fastfn.manifest import Manifest


class OciFunctionsTarget:
    kind = "oci"

    def __init__(self, config: dict[str, Any], settings: TargetSettings,
                 builder: ImageBuilder, endpoint: str | None = None,
                 poll_interval_s: float = 1.0, signer: Any = None) -> None:
        self.config = config
        self.signer = signer  # a session-token signer (CI); None: the config's API key
        self.settings = settings
        self.builder = builder
        self.endpoint = endpoint
        self.poll_interval_s = poll_interval_s
        self._clients: dict[str, Any] = {}

    def _client(self, name: str) -> Any:
        """An SDK client, made on first use (the SDK is imported only then)."""
        if name not in self._clients:
            import oci

            cls = {"functions": oci.functions.FunctionsManagementClient,
                   "work": oci.functions.WorkRequestManagementClient,
                   "objectstorage": oci.object_storage.ObjectStorageClient}[name]
            kwargs: dict[str, Any] = {"service_endpoint": self.endpoint} if self.endpoint \
                else {}
            if self.signer is not None:
                kwargs["signer"] = self.signer
            self._clients[name] = cls(self.config, **kwargs)
        return self._clients[name]

    def describe(self) -> dict[str, str]:
        where = {"kind": self.kind, "compartment_id": self.settings.compartment_id,
                 "region": str(self.config.get("region", ""))}
        if self.endpoint:
            where["endpoint"] = self.endpoint
        return where

    # -- pure -------------------------------------------------------------------------------

    def desired(self, manifest: Manifest, service_dir: Path,
                stage: str | None) -> DesiredService:
        return desired_service(manifest, service_dir, stage, self.settings)

    def build(self, desired: DesiredService) -> Artifact:
        built = self.builder.build(desired)
        reuse = getattr(self.builder, "deployed_if_same", None)
        if built.digest != PENDING_DIGEST or reuse is None:
            return built
        # A new image as far as deploy state knows (none, or another key): the function's
        # current image may still be this very build (state removed, another machine).
        fn = self.observe(desired).function
        if fn is None:
            return built
        found: Artifact | None = reuse(built, fn.settings.get("image"),
                                       fn.settings.get("image_digest"))
        return found or built

    def plan(self, desired: DesiredService, artifact: Artifact | None, observed: Observed,
             mode: Mode = "full", options: PlanOptions | None = None) -> Plan:
        options = options or PlanOptions()
        if options.canary_percent is not None or mode == "promote":
            raise TargetError("OCI Functions has no traffic splitting between versions: "
                              "--canary and promote are for the aws target")
        if mode == "destroy":
            return planner.destroy_plan(desired, observed)
        if artifact is None:
            raise BuildError(f"a {mode} plan needs the image")
        if mode == "rollback":
            return planner.rollback_plan(desired, artifact, observed)
        return planner.plan(desired, artifact, observed, mode, options.force)

    def drift(self, desired: DesiredService, observed: Observed) -> list[SettingChange]:
        return planner.drift(desired, observed)

    # -- remote -----------------------------------------------------------------------------

    def observe(self, desired: DesiredService) -> Observed:
        return observe(self._client("functions"), self.settings.compartment_id, desired)

    def lease_store(self) -> ObjectStorageLeases:
        """Where the stage's deploy lease is held: Object Storage in the compartment."""
        return ObjectStorageLeases(self._client("objectstorage"), self.settings.compartment_id)

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        if isinstance(step, Push):
            return self.builder.push(step)  # the registry's digest, or None
        if not isinstance(step, Call):  # each call follows its own work request
            raise TargetError(f"OCI Functions plans no {step.operation} step")
        return apply_call(self._client("functions"), self._client("work"), step, ids,
                          self.poll_interval_s)


def oci_target(profile: str, compartment_id: str, subnet_ids: tuple[str, ...],
               image: str | None, config_file: str | None = None,
               nsg_ids: tuple[str, ...] = (), registry: str = "") -> OciFunctionsTarget:
    """Real OCI, with an oci config profile: an API key, or a session token
    (`security_token_file`, what `fastfn ci github`'s workflows get from GitHub's OIDC
    token, or `oci session authenticate`)."""
    import oci

    config = oci.config.from_file(config_file or oci.config.DEFAULT_LOCATION, profile)
    signer = None
    if config.get("security_token_file"):
        token = Path(config["security_token_file"]).expanduser().read_text().strip()
        key = oci.signer.load_private_key_from_file(config["key_file"])
        signer = oci.auth.signers.SecurityTokenSigner(token, key)
    settings = TargetSettings(compartment_id=compartment_id, subnet_ids=subnet_ids,
                              network_security_group_ids=nsg_ids,
                              registry=registry or "ocir.invalid/set-registry")
    return OciFunctionsTarget(config, settings, PrebuiltImage(image, build_command_for),
                              signer=signer)


def build_command_for(service: DesiredService) -> str:
    from fastfn.deploy.container import buildx_command

    return buildx_command(service.application.settings["shape"], service.function.image)
