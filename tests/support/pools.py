"""A local load balancer and an instance pool of real `fastfn serve --http` processes,
made through the real oci SDK, for the pool tests (local cloud and pool deploy)."""

from __future__ import annotations

import json
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oci
import oci.load_balancer.models as lbm
from oci.core.models import (
    AttachLoadBalancerDetails,
    ComputeInstanceDetails,
    CreateInstanceConfigurationDetails,
    CreateInstancePoolDetails,
    CreateInstancePoolPlacementConfigurationDetails,
    InstanceConfigurationLaunchInstanceDetails,
)

from fastfn.localcloud.oci import LocalCloud

APPS = Path(__file__).resolve().parents[1] / "localcloud" / "oci" / "apps"
SUBNET = "ocid1.subnet.oc1..local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


@dataclass
class Pool:
    cloud: LocalCloud
    cm: oci.core.ComputeManagementClient
    compute: oci.core.ComputeClient
    lbc: oci.load_balancer.LoadBalancerClient
    lb_id: str
    pool_id: str
    port: int  # backend port
    listen: int  # listener port on 127.0.0.1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen}"

    def members(self) -> list[Any]:
        return list(self.cm.list_instance_pool_instances(self.cloud.compartment_id,
                                                         self.pool_id).data)

    def healthy(self, count: int) -> bool:
        found = self.members()
        return len(found) == count and all(
            b.backend_health_status == "OK" for m in found for b in m.load_balancer_backends)

    def backends(self) -> set[str]:
        return {b.name for b in self.lbc.list_backends(self.lb_id, "api").data}


def configuration(cloud: LocalCloud, cm: oci.core.ComputeManagementClient, port: int,
                  version: str, app: str = "poolapp:app") -> str:
    return str(cm.create_instance_configuration(CreateInstanceConfigurationDetails(
        compartment_id=cloud.compartment_id, display_name=f"api-{version}",
        instance_details=ComputeInstanceDetails(
            launch_details=InstanceConfigurationLaunchInstanceDetails(
                compartment_id=cloud.compartment_id, shape="VM.Standard.A1.Flex",
                metadata={"PORT": str(port), "fastfn_app": app, "workdir": str(APPS)},
                extended_metadata={"env": {"APP_VERSION": version}})))).data.id)


def make_pool(cloud: LocalCloud, size: int = 2, port: int | None = None,
              listen: int | None = None) -> Pool:
    cm = cloud.client(oci.core.ComputeManagementClient)
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient)
    port, listen = port or free_port(), listen or free_port()
    created = lbc.create_load_balancer(lbm.CreateLoadBalancerDetails(
        compartment_id=cloud.compartment_id, display_name="api-lb", shape_name="flexible",
        subnet_ids=[], backend_sets={"api": lbm.BackendSetDetails(
            policy="ROUND_ROBIN", health_checker=lbm.HealthCheckerDetails(
                protocol="HTTP", url_path="/health", return_code=200,
                interval_in_millis=200, timeout_in_millis=1000, retries=2))},
        listeners={"http": lbm.ListenerDetails(default_backend_set_name="api", port=listen,
                                               protocol="HTTP")}))
    lb_id = lbc.get_work_request(created.headers["opc-work-request-id"]).data.load_balancer_id
    v1 = configuration(cloud, cm, port, "v1")
    pool = cm.create_instance_pool(CreateInstancePoolDetails(
        compartment_id=cloud.compartment_id, instance_configuration_id=v1, size=size,
        display_name="api-pool",
        placement_configurations=[CreateInstancePoolPlacementConfigurationDetails(
            availability_domain="local:AD-1", primary_subnet_id=SUBNET)],
        load_balancers=[AttachLoadBalancerDetails(
            load_balancer_id=lb_id, backend_set_name="api", port=port,
            vnic_selection="PrimaryVnic")])).data
    return Pool(cloud, cm, cloud.client(oci.core.ComputeClient), lbc, lb_id, pool.id, port,
                listen)
