"""What a pool stage is now, read with read-only calls: the pool, its instance
configuration, its members with their backend VNICs, and the load balancer's backend set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastfn.deploy.errors import TargetError
from fastfn.deploy.targets.pool.outputs import PoolOutputs
from fastfn.deploy.targets.pool.vnic import NoMatchingVnic, SelectedVnic, select_vnic

GONE = ("TERMINATING", "TERMINATED")
IMAGE_KEY = "container_image"  # instance metadata: the image@digest cloud-init runs


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    configuration_id: str
    vnic: SelectedVnic | None
    vnic_error: str = ""


@dataclass(frozen=True)
class PoolObserved:
    pool_id: str
    compartment_id: str
    size: int
    configuration_id: str
    image: str  # what the current configuration runs (image@digest), "" if unknown
    configuration_name: str
    members: tuple[Member, ...]
    attachment_port: int | None  # the pool's LB attachment port for the outputs' set
    health_port: int | None  # the backend set's health checker port (None: backend port)
    backends: dict[str, bool] = field(default_factory=dict)  # name -> draining
    env: dict[str, str] = field(default_factory=dict)  # the configuration's app env
    outputs: PoolOutputs | None = None  # the Terraform outputs it was read with

    @property
    def converged(self) -> bool:
        """Every member runs the pool's configuration and the pool is at its size."""
        return len(self.members) == self.size and all(
            m.configuration_id == self.configuration_id for m in self.members)

    def ids(self) -> dict[str, str]:
        return {"instance_pool": self.pool_id,
                "instance_configuration": self.configuration_id}

    @property
    def deployed(self) -> bool:
        return bool(self.image)

    @property
    def digest(self) -> str:
        return self.image.partition("@")[2]


class Clients:
    """The SDK clients a pool deploy uses, made on first use (the SDK loads only then)."""

    def __init__(self, config: dict[str, Any], endpoint: str | None = None,
                 signer: Any = None) -> None:
        self.config = config
        self.endpoint = endpoint
        self.signer = signer
        self._made: dict[str, Any] = {}

    def _client(self, name: str) -> Any:
        if name not in self._made:
            import oci

            cls = {"management": oci.core.ComputeManagementClient,
                   "compute": oci.core.ComputeClient,
                   "network": oci.core.VirtualNetworkClient,
                   "lb": oci.load_balancer.LoadBalancerClient,
                   "storage": oci.object_storage.ObjectStorageClient,
                   "work": oci.work_requests.WorkRequestClient}[name]
            kwargs: dict[str, Any] = {}
            if self.endpoint:
                kwargs["service_endpoint"] = self.endpoint
            if self.signer is not None:
                kwargs["signer"] = self.signer
            self._made[name] = cls(self.config, **kwargs)
        return self._made[name]

    @property
    def management(self) -> Any:
        return self._client("management")

    @property
    def compute(self) -> Any:
        return self._client("compute")

    @property
    def network(self) -> Any:
        return self._client("network")

    @property
    def lb(self) -> Any:
        return self._client("lb")

    @property
    def storage(self) -> Any:
        return self._client("storage")

    @property
    def work(self) -> Any:
        return self._client("work")


def live_members(clients: Clients, outputs: PoolOutputs) -> list[Any]:
    import oci

    found = oci.pagination.list_call_get_all_results(
        clients.management.list_instance_pool_instances, outputs.compartment_id,
        outputs.instance_pool_id).data
    return [m for m in found if (m.state or "").upper() not in GONE]


def member(clients: Clients, outputs: PoolOutputs, summary: Any,
           subnet_id: str | None) -> Member:
    try:
        vnic = select_vnic(clients.compute, clients.network, outputs.compartment_id,
                           summary.id, subnet_id)
        error = ""
    except NoMatchingVnic as exc:
        vnic, error = None, str(exc)
    return Member(summary.id, summary.display_name or summary.id,
                  summary.instance_configuration_id or "", vnic, error)


def observe(clients: Clients, outputs: PoolOutputs, subnet_id: str | None) -> PoolObserved:
    import oci

    try:
        pool = clients.management.get_instance_pool(outputs.instance_pool_id).data
    except oci.exceptions.ServiceError as exc:
        raise TargetError(f"instance pool {outputs.instance_pool_id} (Terraform output "
                          f"instance_pool_id): {exc.status} {exc.code}") from None
    configuration = clients.management.get_instance_configuration(
        pool.instance_configuration_id).data
    launch = getattr(configuration.instance_details, "launch_details", None)
    metadata = dict(getattr(launch, "metadata", None) or {})
    extended = dict(getattr(launch, "extended_metadata", None) or {})
    attachment_port = None
    for att in pool.load_balancers or []:
        if att.load_balancer_id == outputs.lb_id and \
                att.backend_set_name == outputs.backend_set_name:
            attachment_port = att.port
    try:
        backend_set = clients.lb.get_backend_set(outputs.lb_id, outputs.backend_set_name).data
    except oci.exceptions.ServiceError as exc:
        raise TargetError(f"backend set {outputs.backend_set_name} of load balancer "
                          f"{outputs.lb_id}: {exc.status} {exc.code}") from None
    checker = backend_set.health_checker
    members = tuple(member(clients, outputs, m, subnet_id)
                    for m in live_members(clients, outputs))
    return PoolObserved(
        pool_id=pool.id, compartment_id=pool.compartment_id, size=pool.size,
        configuration_id=pool.instance_configuration_id,
        image=metadata.get(IMAGE_KEY, ""), configuration_name=configuration.display_name,
        members=members, attachment_port=attachment_port,
        health_port=(checker.port or None) if checker is not None else None,
        backends={b.name: bool(b.drain) for b in backend_set.backends or []},
        env={str(k): str(v) for k, v in (extended.get("env") or {}).items()},
        outputs=outputs)
