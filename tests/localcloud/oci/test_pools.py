"""Instance configurations (and, as they land, pools) through the real oci SDK."""

from __future__ import annotations

import oci
import pytest
from oci.core.models import (
    ComputeInstanceDetails,
    CreateInstanceConfigurationDetails,
    InstanceConfigurationInstanceSourceViaImageDetails,
    InstanceConfigurationLaunchInstanceDetails,
)

from fastfn.localcloud.oci import LocalCloud


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
