"""The OCI Functions target, through the current oci SDK (Functions API 20260325).

The local cloud is this same target: the SDK pointed at its endpoint, with its image
store as the registry (`local_cloud_target`). Real OCI takes an oci config profile, a
compartment and subnets, and an image already pushed (`oci_target`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from fastfn.deploy import planner
from fastfn.deploy.build import ImageBuilder, LocalImageBuilder, PrebuiltImage
from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.models import DesiredService, TargetSettings, desired_service
from fastfn.deploy.planner import LiveResource, Mode, Observed, Plan
from fastfn.deploy.steps import Artifact, Call, Push, Step
from fastfn.manifest import Manifest

log = logging.getLogger("fastfn.deploy.oci")

WORK_REQUEST_TIMEOUT_S = 600.0
DONE = {"SUCCEEDED", "FAILED", "CANCELED"}
LOCAL_SUBNET = "local-subnet"


class OciFunctionsTarget:
    kind = "oci-functions"

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

    # -- clients (the SDK is imported only when a target is used) -------------------------

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            import oci

            cls = {"functions": oci.functions.FunctionsManagementClient,
                   "work": oci.functions.WorkRequestManagementClient}[name]
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

    # -- pure ---------------------------------------------------------------------------------

    def desired(self, manifest: Manifest, service_dir: Path,
                stage: str | None) -> DesiredService:
        return desired_service(manifest, service_dir, stage, self.settings)

    def build(self, desired: DesiredService) -> Artifact:
        return self.builder.build(desired)

    def plan(self, desired: DesiredService, artifact: Artifact | None, observed: Observed,
             mode: Mode = "full", force: bool = False) -> Plan:
        if mode == "destroy":
            return planner.destroy_plan(desired, observed)
        if artifact is None:
            raise BuildError(f"a {mode} plan needs the image")
        if mode == "rollback":
            return planner.rollback_plan(desired, artifact, observed)
        return planner.plan(desired, artifact, observed, mode, force)

    # -- read-only --------------------------------------------------------------------------

    def observe(self, service: DesiredService) -> Observed:
        import oci

        functions = self._client("functions")
        apps = oci.pagination.list_call_get_all_results(
            functions.list_applications, self.settings.compartment_id,
            display_name=service.application.name).data
        apps = [a for a in apps if a.lifecycle_state not in ("DELETED", "DELETING")]
        if not apps:
            return Observed(None, None)
        app = functions.get_application(apps[0].id).data
        live_app = LiveResource(app.id, app.display_name, {
            "shape": app.shape,
            "subnet_ids": sorted(app.subnet_ids or []),
            "network_security_group_ids": sorted(app.network_security_group_ids or []),
            "syslog_url": app.syslog_url,
            "config": dict(app.config or {}),
        }, dict(app.freeform_tags or {}))
        fns = oci.pagination.list_call_get_all_results(
            functions.list_functions, app.id, display_name=service.function.name).data
        fns = [f for f in fns if f.lifecycle_state not in ("DELETED", "DELETING")]
        if not fns:
            return Observed(live_app, None)
        fn = functions.get_function(fns[0].id).data
        source = fn.source_details
        concurrency = fn.provisioned_concurrency_config
        live_fn = LiveResource(fn.id, fn.display_name, {
            "memory": fn.memory_in_mbs,
            "timeout": fn.timeout_in_seconds,
            "config": dict(fn.config or {}),
            "detached_timeout": fn.detached_mode_timeout_in_seconds,
            "provisioned_concurrency": getattr(concurrency, "count", None) or 0,
            "image": getattr(source, "image", None),
            "image_digest": getattr(source, "image_digest", None),
        }, dict(fn.freeform_tags or {}))
        return Observed(live_app, live_fn)

    # -- mutating ---------------------------------------------------------------------------

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        if isinstance(step, Push):
            self.builder.push(step)
            return None
        if not isinstance(step, Call):  # each call follows its own work request
            raise TargetError(f"OCI Functions plans no {step.operation} step")
        return self._call(step, ids)

    def _call(self, call: Call, ids: dict[str, str]) -> str | None:
        import oci

        functions = self._client("functions")
        m = oci.functions.models
        p = call.params
        try:
            if call.operation == "create_application":
                response = functions.create_application(m.CreateApplicationDetails(
                    compartment_id=p["compartment_id"], display_name=call.name,
                    shape=p["shape"], subnet_ids=p["subnet_ids"], config=p["config"],
                    network_security_group_ids=p["network_security_group_ids"] or None,
                    syslog_url=p["syslog_url"], freeform_tags=p["tags"]))
                resource_id = response.data.id
            elif call.operation == "update_application":
                response = functions.update_application(call.resource_id,
                                                        m.UpdateApplicationDetails(**p))
                resource_id = call.resource_id
            elif call.operation == "create_function":
                response = functions.create_function(m.CreateFunctionDetails(
                    display_name=call.name, application_id=ids["application"],
                    memory_in_mbs=p["memory"], timeout_in_seconds=p["timeout"],
                    config=p["config"], freeform_tags=p["tags"],
                    **_function_extras(m, p),
                    source_details=m.CreateContainerImageFunctionSourceDetails(
                        image=p["image"], image_digest=p["image_digest"])))
                resource_id = response.data.id
            elif call.operation == "update_function":
                response = functions.update_function(call.resource_id,
                                                     _update_function_details(m, p))
                resource_id = call.resource_id
            elif call.operation == "delete_function":
                response = functions.delete_function(call.resource_id)
                resource_id = call.resource_id
            elif call.operation == "delete_application":
                response = functions.delete_application(call.resource_id)
                resource_id = call.resource_id
            else:
                raise TargetError(f"unknown operation {call.operation}")
        except oci.exceptions.ServiceError as exc:
            raise TargetError(f"{call.operation} {call.name}: {exc.status} {exc.code}: "
                              f"{exc.message}") from None
        self._wait(response.headers.get("opc-work-request-id"), call)
        return resource_id

    def _wait(self, work_request_id: str | None, call: Call) -> None:
        """Follow the work request to its end (20260325 mutations are asynchronous).

        The SDK's *_and_wait_for_state helpers cannot be used: in oci 2.189 they call a
        get_work_request that FunctionsManagementClient lacks."""
        if not work_request_id:
            return
        work = self._client("work")
        deadline = time.monotonic() + WORK_REQUEST_TIMEOUT_S
        delay = 0.0
        while True:
            status = work.get_work_request(work_request_id).data.status
            if status in DONE:
                break
            if time.monotonic() > deadline:
                raise TargetError(f"{call.operation} {call.name}: work request "
                                  f"{work_request_id} still {status} after "
                                  f"{WORK_REQUEST_TIMEOUT_S:.0f} s; run the deploy again")
            delay = min(max(delay * 2, 0.2), self.poll_interval_s * 5)
            time.sleep(delay)
        if status != "SUCCEEDED":
            raise TargetError(f"{call.operation} {call.name}: work request "
                              f"{work_request_id} {status}")


def _update_function_details(m: Any, p: dict[str, Any]) -> Any:
    fields: dict[str, Any] = {}
    if "memory" in p:
        fields["memory_in_mbs"] = p["memory"]
    if "timeout" in p:
        fields["timeout_in_seconds"] = p["timeout"]
    if "config" in p:
        fields["config"] = p["config"]
    fields.update(_function_extras(m, p))
    if "image" in p:
        fields["source_details"] = m.UpdateContainerImageFunctionSourceDetails(
            image=p["image"], image_digest=p["image_digest"])
    return m.UpdateFunctionDetails(**fields)


def _function_extras(m: Any, p: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "detached_timeout" in p:
        fields["detached_mode_timeout_in_seconds"] = p["detached_timeout"]
    if "provisioned_concurrency" in p:
        count = p["provisioned_concurrency"]
        fields["provisioned_concurrency_config"] = (
            m.ConstantProvisionedConcurrencyConfig(count=count) if count
            else m.NoneProvisionedConcurrencyConfig())
    return fields


# -- building targets -------------------------------------------------------------------------


def local_cloud_target(state_dir: Path, registry: str = "local.ocir.io/fastfn",
                       endpoint: str | None = None) -> OciFunctionsTarget:
    """The local cloud running on `state_dir` (`fastfn cloud up --state-dir ...`)."""
    import oci

    from fastfn.localcloud.oci.cloud import CONFIG_DIR, CONFIG_FILE, RUNNING_FILE
    from fastfn.localcloud.oci.context import CloudIdentity

    state_dir = Path(state_dir)
    running = state_dir / RUNNING_FILE
    if endpoint is None:
        if not running.exists():
            raise TargetError(f"no local cloud is running on {state_dir}: start one with "
                              f"`fastfn cloud up --state-dir {state_dir}`")
        endpoint = json.loads(running.read_text())["endpoint"]
    config = oci.config.from_file(str(state_dir / CONFIG_DIR / CONFIG_FILE))
    identity = CloudIdentity.load_or_create(state_dir)
    network = oci.core.VirtualNetworkClient(config, service_endpoint=endpoint)
    try:
        subnets = network.list_subnets(identity.compartment_id, display_name=LOCAL_SUBNET,
                                       retry_strategy=oci.retry.NoneRetryStrategy()).data
    except Exception as exc:  # requests' connection errors and ServiceError alike
        raise TargetError(f"the local cloud at {endpoint} does not answer "
                          f"({type(exc).__name__}); is `fastfn cloud up --state-dir "
                          f"{state_dir}` running?") from None
    if not subnets:
        raise TargetError(f"the local cloud has no subnet named {LOCAL_SUBNET!r}")
    settings = TargetSettings(compartment_id=identity.compartment_id,
                              subnet_ids=(subnets[0].id,), registry=registry)
    return OciFunctionsTarget(config, settings, LocalImageBuilder(state_dir),
                              endpoint=endpoint, poll_interval_s=0.2)


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
    return OciFunctionsTarget(config, settings, PrebuiltImage(image), signer=signer)
