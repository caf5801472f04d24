"""The Terraform outputs a pool deploy reads: exactly seed 002's 21 names, read from a
state object in the local Object Storage through the real oci SDK, failing fast."""

from __future__ import annotations

import json
from typing import Any

import oci
import pytest

from fastfn.deploy.errors import TargetError
from fastfn.deploy.targets.pool.outputs import (
    OUTPUT_NAMES,
    MissingOutputs,
    outputs_from_state,
    read_outputs,
)
from fastfn.localcloud.oci import LocalCloud


def full_state(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: f"value-of-{name}" for name in OUTPUT_NAMES}
    values.update(backend_port=8000, instance_ocpus=1, instance_memory_gbs=6)
    values.update(overrides)
    return {"version": 4, "terraform_version": "1.9.0", "serial": 3,
            "outputs": {k: {"value": v, "type": "string"} for k, v in values.items()
                        if v is not None}, "resources": []}


def test_the_seeds_21_output_names() -> None:
    assert len(OUTPUT_NAMES) == 21 == len(set(OUTPUT_NAMES))
    assert OUTPUT_NAMES[0] == "backend_port" and OUTPUT_NAMES[-1] == "app_log_id"


@pytest.fixture
def state_bucket(cloud: LocalCloud) -> oci.object_storage.ObjectStorageClient:
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
        name="tfstate", compartment_id=cloud.compartment_id))
    return storage


def put_state(storage: oci.object_storage.ObjectStorageClient, cloud: LocalCloud,
              doc: dict[str, Any]) -> None:
    storage.put_object(cloud.namespace, "tfstate", "triviapay/terraform.tfstate",
                       json.dumps(doc).encode())


def test_reads_outputs_from_the_state_object(cloud: LocalCloud, state_bucket: Any) -> None:
    put_state(state_bucket, cloud, full_state(lb_backend_set_name="api-backend"))
    outputs = read_outputs(state_bucket, cloud.namespace, "tfstate",
                           "triviapay/terraform.tfstate")
    assert outputs.backend_port == 8000
    assert outputs.backend_set_name == "api-backend"
    assert outputs.instance_pool_id == "value-of-instance_pool_id"
    assert set(outputs.values) == set(OUTPUT_NAMES)


def test_missing_outputs_fail_fast_naming_every_one(cloud: LocalCloud,
                                                   state_bucket: Any) -> None:
    put_state(state_bucket, cloud, full_state(lb_id=None, app_log_id=None,
                                              instance_pool_id=""))
    with pytest.raises(MissingOutputs) as err:
        read_outputs(state_bucket, cloud.namespace, "tfstate", "triviapay/terraform.tfstate")
    assert err.value.missing == ["instance_pool_id", "lb_id", "app_log_id"]
    message = str(err.value)
    assert "instance_pool_id, lb_id, app_log_id" in message
    assert "oci://tfstate@" in message and "terraform apply" in message


def test_missing_state_object_names_it(cloud: LocalCloud, state_bucket: Any) -> None:
    with pytest.raises(TargetError) as err:
        read_outputs(state_bucket, cloud.namespace, "tfstate", "nope/terraform.tfstate")
    assert "nope/terraform.tfstate" in str(err.value) and "404" in str(err.value)


def test_state_that_is_not_json_or_has_no_outputs() -> None:
    with pytest.raises(MissingOutputs) as err:
        outputs_from_state({"version": 4})
    assert err.value.missing == list(OUTPUT_NAMES)
    with pytest.raises(TargetError, match=r"backend_port must be 1\.\.65535"):
        outputs_from_state(full_state(backend_port=70000))
    with pytest.raises(TargetError, match="backend_port must be a port number"):
        outputs_from_state(full_state(backend_port="eighty"))
