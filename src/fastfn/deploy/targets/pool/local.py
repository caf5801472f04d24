"""The local cloud as a pool target: its image store as the registry, and the stack the
example's Terraform makes (load balancer, backend set with `GET /health`, listener,
instance configuration, pool attached) made through the oci SDK, with a Terraform state
object holding the 21 outputs in the local Object Storage, so a deploy reads its inputs
exactly as it does on OCI.

The cloud is found through its public API (`fastfn.localcloud.oci.running`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.steps import Artifact, Push
from fastfn.deploy.targets.pool.configuration import launch_details, sdk_details
from fastfn.deploy.targets.pool.observe import Clients
from fastfn.deploy.targets.pool.outputs import OUTPUT_NAMES, PoolOutputs, outputs_from_state
from fastfn.deploy.targets.pool.settings import InstanceSettings

if TYPE_CHECKING:
    from fastfn.localcloud.oci import RunningCloud

log = logging.getLogger("fastfn.deploy.pool")

STATE_BUCKET = "tfstate"
LOCAL_REPOSITORY = "local.ocir.io/fastfn"
LOCAL_AD = "local:AD-1"


def find_cloud(state_dir: Path) -> RunningCloud:
    from fastfn.localcloud.oci import running

    cloud = running(Path(state_dir))
    if cloud is None:
        raise TargetError(f"no local cloud is running on {state_dir}: start one with "
                          f"`fastfn cloud up --state-dir {state_dir}`")
    return cloud


def local_clients(cloud: RunningCloud) -> Clients:
    import oci

    return Clients(oci.config.from_file(str(cloud.config_file)), endpoint=cloud.endpoint)


class LocalPoolImages:
    """Images for local instances: directory snapshots in the cloud's image store; the
    digest is known before the push (the store gives the same sha256). An `ImageBuilder`
    (`build(desired)`, `push(step)`), and `snapshot` for a directory as it is."""

    def __init__(self, cloud: RunningCloud, repository: str = LOCAL_REPOSITORY) -> None:
        self.cloud = cloud
        self.repository = repository

    def snapshot(self, image: str, source_dir: Path, app: str) -> Artifact:
        from fastfn.localcloud.oci.images import tree_digest

        if not source_dir.is_dir():
            raise BuildError(f"{source_dir} is not a directory")
        return Artifact(image=image, digest=tree_digest(source_dir.resolve(), app))

    def build(self, desired: Any) -> Artifact:
        return self.snapshot(f"{self.repository}/{desired.name}:latest", desired.source_dir,
                             desired.app)

    def push(self, step: Push) -> None:
        if step.source_dir is None:
            raise BuildError(f"{step.artifact.image}: nothing to push it from")
        self.put(step.artifact, step.source_dir, step.app)

    def put(self, artifact: Artifact, source_dir: Path, app: str) -> None:
        store = self.cloud.image_store()
        try:
            digest = store.put(artifact.image, source_dir, app)
        finally:
            store.store.close()
        if digest != artifact.digest:
            raise BuildError(f"{source_dir} changed while deploying ({artifact.digest} "
                             f"planned, {digest} pushed); run again")


@dataclass(frozen=True)
class LocalStack:
    outputs: PoolOutputs
    listener_url: str
    state_key: str


def local_outputs(cloud: RunningCloud, *, pool_id: str, lb_id: str, backend_set: str,
                  backend_port: int, subnet_id: str, repo: str) -> dict[str, Any]:
    local = "ocid1.{}.oc1..local-{}"
    return {
        "backend_port": backend_port, "instance_pool_id": pool_id,
        "private_subnet_id": subnet_id, "api_nsg_id": local.format("networksecuritygroup",
                                                                   "api"),
        "lb_id": lb_id, "lb_backend_set_name": backend_set,
        "app_env_secret_id": local.format("vaultsecret", "app-env"),
        "ocir_username_secret_id": local.format("vaultsecret", "ocir-username"),
        "ocir_auth_token_secret_id": local.format("vaultsecret", "ocir-auth-token"),
        "availability_domain": LOCAL_AD, "compartment_ocid": cloud.compartment_id,
        "instance_image_id": local.format("image", "oracle-linux-arm"),
        "instance_shape": "VM.Standard.A1.Flex", "instance_ocpus": 1,
        "instance_memory_gbs": 6, "ocir_namespace": cloud.namespace,
        "ocir_registry": repo.split("/")[0], "ocir_repo_name": repo.split("/", 1)[1],
        "ocir_repo_url": repo,
        "uma_configuration_id": local.format("unifiedagentconfiguration", "app"),
        "app_log_id": local.format("log", "app"),
    }


def write_state(clients: Clients, namespace: str, compartment_id: str, key: str,
                outputs: dict[str, Any]) -> None:
    """A Terraform (format 4) state object holding `outputs`, as the backend writes it."""
    import oci

    storage = clients.storage
    try:
        storage.create_bucket(namespace, oci.object_storage.models.CreateBucketDetails(
            name=STATE_BUCKET, compartment_id=compartment_id, versioning="Enabled"))
    except oci.exceptions.ServiceError as exc:
        if exc.status != 409:
            raise
    doc = {"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "local",
           "outputs": {name: {"value": value, "type": "number" if isinstance(value, int)
                              else "string"} for name, value in outputs.items()},
           "resources": []}
    storage.put_object(namespace, STATE_BUCKET, key, json.dumps(doc, indent=2).encode())


def provision_local_stack(state_dir: Path, service_dir: Path, app: str, *, service: str,
                          listen_port: int, backend_port: int = 8000, size: int = 2,
                          health_interval_ms: int = 500, health_retries: int = 2,
                          instance: InstanceSettings | None = None,
                          repo: str = "local.ocir.io/fastfn/api") -> LocalStack:
    """What `terraform apply` of the example's infra makes, on the local cloud: the load
    balancer and its listener on 127.0.0.1:`listen_port`, the first instance
    configuration (the service as it is now), the pool of `size` attached to the backend
    set, and the state object `<service>/terraform.tfstate` with the 21 outputs."""
    import oci

    cloud = find_cloud(state_dir)
    clients = local_clients(cloud)
    lbm = oci.load_balancer.models
    created = clients.lb.create_load_balancer(lbm.CreateLoadBalancerDetails(
        compartment_id=cloud.compartment_id, display_name=f"{service}-lb",
        shape_name="flexible", subnet_ids=[], backend_sets={"api-backend": lbm.BackendSetDetails(
            policy="ROUND_ROBIN", health_checker=lbm.HealthCheckerDetails(
                protocol="HTTP", url_path="/health", return_code=200, port=backend_port,
                interval_in_millis=health_interval_ms, timeout_in_millis=2000,
                retries=health_retries))},
        listeners={"http": lbm.ListenerDetails(default_backend_set_name="api-backend",
                                               port=listen_port, protocol="HTTP")}))
    lb_id = clients.lb.get_work_request(
        created.headers["opc-work-request-id"]).data.load_balancer_id
    subnet = clients.network.list_subnets(cloud.compartment_id).data
    subnet_id = subnet[0].id if subnet else "ocid1.subnet.oc1..local-private"
    # The pool needs a configuration before the outputs exist: placeholders for its id.
    draft = local_outputs(cloud, pool_id="pending", lb_id=lb_id, backend_set="api-backend",
                          backend_port=backend_port, subnet_id=subnet_id, repo=repo)
    images = LocalPoolImages(cloud)
    artifact = images.snapshot(f"{repo}:v1", service_dir, app)
    images.put(artifact, service_dir, app)
    details = launch_details(outputs_from_state({"outputs": {
        k: {"value": v} for k, v in draft.items()}}), f"{artifact.image}@{artifact.digest}",
        service, "v1", instance or InstanceSettings())
    configuration = clients.management.create_instance_configuration(
        sdk_details(oci.core.models, details)).data
    pool = clients.management.create_instance_pool(oci.core.models.CreateInstancePoolDetails(
        compartment_id=cloud.compartment_id, instance_configuration_id=configuration.id,
        size=size, display_name=f"{service}-pool",
        placement_configurations=[oci.core.models.CreateInstancePoolPlacementConfigurationDetails(
            availability_domain=LOCAL_AD, primary_subnet_id=subnet_id)],
        load_balancers=[oci.core.models.AttachLoadBalancerDetails(
            load_balancer_id=lb_id, backend_set_name="api-backend", port=backend_port,
            vnic_selection="PrimaryVnic")])).data
    values = {**draft, "instance_pool_id": pool.id}
    assert set(values) == set(OUTPUT_NAMES)
    key = f"{service}/terraform.tfstate"
    write_state(clients, cloud.namespace, cloud.compartment_id, key, values)
    outputs = outputs_from_state({"outputs": {k: {"value": v} for k, v in values.items()}})
    return LocalStack(outputs, f"http://127.0.0.1:{listen_port}", key)
