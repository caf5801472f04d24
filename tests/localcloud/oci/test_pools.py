"""Instance configurations (and, as they land, pools) through the real oci SDK."""

from __future__ import annotations

import oci
import pytest
from oci.core.models import (
    ComputeInstanceDetails,
    CreateInstanceConfigurationDetails,
    CreateInstancePoolDetails,
    CreateInstancePoolPlacementConfigurationDetails,
    DetachInstancePoolInstanceDetails,
    InstanceConfigurationInstanceSourceViaImageDetails,
    InstanceConfigurationLaunchInstanceDetails,
    UpdateInstancePoolDetails,
)

from fastfn.localcloud.oci import LocalCloud

from support.pools import configuration, free_port, get_json, make_pool
from support.waiting import wait_for


def launch_details(cloud: LocalCloud, port: int) -> ComputeInstanceDetails:
    return ComputeInstanceDetails(launch_details=InstanceConfigurationLaunchInstanceDetails(
        compartment_id=cloud.compartment_id, shape="VM.Standard.A1.Flex",
        source_details=InstanceConfigurationInstanceSourceViaImageDetails(
            image_id="ocid1.image.oc1..local"),
        metadata={"user_data": "", "PORT": str(port),
                  "entrypoint": "python -m fastfn serve app:app --http"}))


def test_instance_configuration_lifecycle(cloud: LocalCloud) -> None:
    cm = cloud.client(oci.core.ComputeManagementClient)
    created = cm.create_instance_configuration(CreateInstanceConfigurationDetails(
        compartment_id=cloud.compartment_id, display_name="api-v1",
        instance_details=launch_details(cloud, 8000))).data
    assert created.id.startswith("ocid1.instanceconfiguration.")
    got = cm.get_instance_configuration(created.id).data
    assert got.display_name == "api-v1"
    assert got.instance_details.launch_details.metadata["PORT"] == "8000"
    assert got.instance_details.launch_details.shape == "VM.Standard.A1.Flex"
    listed = cm.list_instance_configurations(cloud.compartment_id).data
    assert [c.id for c in listed] == [created.id]
    cm.delete_instance_configuration(created.id)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        cm.get_instance_configuration(created.id)
    assert err.value.status == 404


def test_instance_configuration_bad_input_names_the_field(cloud: LocalCloud) -> None:
    cm = cloud.client(oci.core.ComputeManagementClient,
                      retry_strategy=oci.retry.NoneRetryStrategy())
    with pytest.raises(oci.exceptions.ServiceError) as err:
        cm.create_instance_configuration(CreateInstanceConfigurationDetails(
            compartment_id=cloud.compartment_id,
            instance_details=ComputeInstanceDetails(
                launch_details=InstanceConfigurationLaunchInstanceDetails(
                    metadata={"user_data": "x" * 40000}))))
    assert err.value.status == 400
    assert "metadata" in err.value.message


# -- pools of real local instances behind the local load balancer -------------------------

def whoami(url: str) -> str:
    return str(get_json(url + "/whoami")["instance"])


def test_pool_behind_load_balancer(cloud: LocalCloud) -> None:
    made = make_pool(cloud, size=2)
    cm, compute, lbc, lb_id, port = made.cm, made.compute, made.lbc, made.lb_id, made.port
    vn = cloud.client(oci.core.VirtualNetworkClient)
    wrc = cloud.client(oci.work_requests.WorkRequestClient)
    pool = cm.get_instance_pool(made.pool_id).data
    v1 = pool.instance_configuration_id
    assert pool.lifecycle_state == "RUNNING" and pool.size == 2

    members = made.members

    def all_ok() -> bool:
        found = members()
        return all(b.backend_health_status == "OK"
                   for m in found for b in m.load_balancer_backends)

    wait_for(all_ok)
    first = members()
    ips = set()
    for m in first:
        att = compute.list_vnic_attachments(cloud.compartment_id, instance_id=m.id).data
        vnic = vn.get_vnic(att[0].vnic_id).data
        ips.add(vnic.private_ip)
        assert m.load_balancer_backends[0].backend_name == f"{vnic.private_ip}:{port}"
    assert len(ips) == 2
    url = made.url
    assert {whoami(url) for _ in range(6)} == {m.display_name for m in first}

    # 2 -> 3 -> 2: the oldest goes.
    cm.update_instance_pool(pool.id, UpdateInstancePoolDetails(size=3))
    wait_for(lambda: len(members()) == 3 and all_ok())
    cm.update_instance_pool(pool.id, UpdateInstancePoolDetails(size=2))
    now_ids = [m.id for m in members()]
    assert first[0].id not in now_ids and first[1].id in now_ids
    wait_for(lambda: compute.get_instance(first[0].id).data.lifecycle_state == "TERMINATED")
    backends = {b.name for b in lbc.list_backends(lb_id, "api").data}
    assert len(backends) == 2

    # A new configuration affects new instances only.
    v2 = configuration(cloud, cm, port, "v2")
    cm.update_instance_pool(pool.id, UpdateInstancePoolDetails(instance_configuration_id=v2))
    assert {m.instance_configuration_id for m in members()} == {v1}
    cm.update_instance_pool(pool.id, UpdateInstancePoolDetails(size=3))
    assert sorted(m.instance_configuration_id for m in members()) == sorted([v1, v1, v2])

    # Detach with auto-terminate: a work request that succeeds, and the backend is gone.
    victim = members()[0]
    detached = cm.detach_instance_pool_instance(pool.id, DetachInstancePoolInstanceDetails(
        instance_id=victim.id, is_decrement_size=True, is_auto_terminate=True))
    wr_id = detached.headers["opc-work-request-id"]
    wait_for(lambda: wrc.get_work_request(wr_id).data.status == "SUCCEEDED")
    assert compute.get_instance(victim.id).data.lifecycle_state == "TERMINATED"
    assert cm.get_instance_pool(pool.id).data.size == 2
    victim_backend = victim.load_balancer_backends[0].backend_name
    assert victim_backend not in {b.name for b in lbc.list_backends(lb_id, "api").data}


def test_pool_bad_input_names_the_field(cloud: LocalCloud) -> None:
    cm = cloud.client(oci.core.ComputeManagementClient,
                      retry_strategy=oci.retry.NoneRetryStrategy())
    v1 = configuration(cloud, cm, free_port(), "v1")
    with pytest.raises(oci.exceptions.ServiceError) as err:
        cm.create_instance_pool(CreateInstancePoolDetails(
            compartment_id=cloud.compartment_id, instance_configuration_id=v1, size=500,
            placement_configurations=[CreateInstancePoolPlacementConfigurationDetails(
                availability_domain="local:AD-1")]))
    assert err.value.status == 400 and "size" in err.value.message
    with pytest.raises(oci.exceptions.ServiceError) as err:
        cm.create_instance_pool(CreateInstancePoolDetails(
            compartment_id=cloud.compartment_id, instance_configuration_id="ocid1.nope",
            size=1, placement_configurations=[CreateInstancePoolPlacementConfigurationDetails(
                availability_domain="local:AD-1")]))
    assert err.value.status == 404
