"""Functions: applications and functions CRUD, invoke on the local Fn platform."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import oci
import pytest
from oci._vendor import requests
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
    UpdateApplicationDetails,
    UpdateContainerImageFunctionSourceDetails,
    UpdateFunctionDetails,
)

from fastfn.localcloud.oci import LocalCloud

from support.oci import APPS, IMAGE

NO_RETRY = oci.retry.NoneRetryStrategy()


@pytest.fixture
def management(cloud: LocalCloud) -> oci.functions.FunctionsManagementClient:
    return cloud.client(oci.functions.FunctionsManagementClient)


@pytest.fixture
def application(cloud: LocalCloud, management, tmp_path: Path):  # type: ignore[no-untyped-def]
    markers = tmp_path / "markers"
    markers.mkdir()
    return management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="tests",
        subnet_ids=[cloud.subnet_id],
        config={"GREETING": "from app", "FASTFN_DEFAULT_ROUTE": "POST /invoke",
                "FASTFN_EVENT_ROUTE": "POST /events", "MARKER_DIR": str(markers)})).data


def create_function(management, application, image: str = IMAGE, name: str = "ocifn",  # type: ignore[no-untyped-def]
                    **kw: object) -> oci.functions.models.Function:
    kw.setdefault("memory_in_mbs", 128)
    return management.create_function(CreateFunctionDetails(
        display_name=name, application_id=application.id,
        source_details=CreateContainerImageFunctionSourceDetails(image=image), **kw)).data


def invoker(cloud: LocalCloud,
            fn: oci.functions.models.Function) -> oci.functions.FunctionsInvokeClient:
    return oci.functions.FunctionsInvokeClient(cloud.config, service_endpoint=fn.invoke_endpoint)


def test_create_and_invoke(cloud: LocalCloud, management, application) -> None:  # type: ignore[no-untyped-def]
    digest = cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = create_function(management, application, memory_in_mbs=256,
                         config={"GREETING": "from function"})
    assert isinstance(fn, oci.functions.models.Function)
    assert fn.lifecycle_state == "ACTIVE"
    assert fn.source_details.image == IMAGE
    assert fn.source_details.image_digest == digest  # pinned at create, as OCI does
    assert fn.invoke_endpoint == cloud.endpoint
    assert (fn.memory_in_mbs, fn.timeout_in_seconds, fn.shape) == (256, 30, "GENERIC_X86")

    response = invoker(cloud, fn).invoke_function(
        fn.id, invoke_function_body=json.dumps({"op": "echo", "n": 1}),
        fn_intent="httprequest", fn_invoke_type="sync")
    assert response.status == 200
    result = response.data.json()
    assert result["body"] == {"op": "echo", "n": 1}
    assert result["greeting"] == "from function"  # function config overrides the app's
    assert result["fn_id"] == fn.id
    assert response.headers["Fn-Http-Status"] == "200"
    assert response.headers["opc-request-id"]

    detached = invoker(cloud, fn).invoke_function(
        fn.id, invoke_function_body=json.dumps({"op": "echo"}), fn_invoke_type="detached")
    assert detached.status == 202


def test_crud_and_lifecycle(cloud: LocalCloud, management, application) -> None:  # type: ignore[no-untyped-def]
    fn = create_function(management, application)
    listed = management.list_functions(application.id).data
    assert [f.id for f in listed] == [fn.id]
    assert management.list_applications(cloud.compartment_id).data[0].id == application.id

    # 20260325 updates are asynchronous: a work request id, then the new state.
    response = management.update_function(fn.id, UpdateFunctionDetails(
        timeout_in_seconds=60, source_details=UpdateContainerImageFunctionSourceDetails(
            image="fra.ocir.io/fastfnlocal/tests/ocifn:2")))
    work_requests = cloud.client(oci.functions.WorkRequestManagementClient)
    work = work_requests.get_work_request(response.headers["opc-work-request-id"]).data
    assert (work.operation_type, work.status) == ("UPDATE_FUNCTION", "SUCCEEDED")
    assert work.resources[0].identifier == fn.id
    updated = management.get_function(fn.id).data
    assert updated.timeout_in_seconds == 60
    assert updated.source_details.image.endswith(":2")
    management.update_application(application.id, UpdateApplicationDetails(config={"A": "1"}))
    assert management.get_application(application.id).data.config == {"A": "1"}
    listed_work = work_requests.list_work_requests(cloud.compartment_id, resource_id=fn.id)
    assert {w.operation_type for w in listed_work.data.items} == {"CREATE_FUNCTION",
                                                                  "UPDATE_FUNCTION"}

    with pytest.raises(oci.exceptions.ServiceError) as info:
        management.delete_application(application.id, retry_strategy=NO_RETRY)
    assert (info.value.status, info.value.code) == (409, "Conflict")
    management.delete_function(fn.id)
    with pytest.raises(oci.exceptions.ServiceError) as info:
        management.get_function(fn.id, retry_strategy=NO_RETRY)
    assert (info.value.status, info.value.code) == (404, "NotAuthorizedOrNotFound")
    management.delete_application(application.id)


def test_bad_input_is_refused(cloud: LocalCloud, management, application) -> None:  # type: ignore[no-untyped-def]
    cases = [
        {"memory_in_mbs": 100},
        {"memory_in_mbs": None},  # required
        {"timeout_in_seconds": 301},
        {"config": {"1BAD": "x"}},
        {"config": {"BIG": "x" * 5000}},
    ]
    for extra in cases:
        with pytest.raises(oci.exceptions.ServiceError) as info:
            management.create_function(CreateFunctionDetails(
                display_name="bad", application_id=application.id,
                source_details=CreateContainerImageFunctionSourceDetails(image=IMAGE),
                **{"memory_in_mbs": 128, **extra}),
                retry_strategy=NO_RETRY)
        assert (info.value.status, info.value.code) == (400, "InvalidParameter"), extra
    with pytest.raises(oci.exceptions.ServiceError) as info:
        management.create_application(CreateApplicationDetails(
            compartment_id=cloud.compartment_id, display_name="x",
            subnet_ids=["ocid1.subnet.oc1..nope"]), retry_strategy=NO_RETRY)
    assert info.value.status == 400
    create_function(management, application)
    with pytest.raises(oci.exceptions.ServiceError) as info:
        create_function(management, application)
    assert info.value.status == 409


def test_image_not_in_store_fails_like_oci(cloud: LocalCloud, management, application) -> None:  # type: ignore[no-untyped-def]
    fn = create_function(management, application, image="fra.ocir.io/fastfnlocal/none:1")
    with pytest.raises(oci.exceptions.ServiceError) as info:
        invoker(cloud, fn).invoke_function(fn.id, invoke_function_body="{}",
                                           retry_strategy=NO_RETRY)
    assert (info.value.status, info.value.code) == (502, "FunctionInvokeImageNotAvailable")
    assert info.value.message == "Failed to pull function image"

    # Deleting the image from the store later has the same effect on a pinned function.
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    pinned = create_function(management, application, name="pinned")
    cloud.images.delete(IMAGE)
    with pytest.raises(oci.exceptions.ServiceError) as info:
        invoker(cloud, pinned).invoke_function(pinned.id, invoke_function_body="{}",
                                               retry_strategy=NO_RETRY)
    assert info.value.code == "FunctionInvokeImageNotAvailable"


def test_body_over_6_mb_is_refused(cloud: LocalCloud, management, application) -> None:  # type: ignore[no-untyped-def]
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = create_function(management, application)
    with pytest.raises(oci.exceptions.ServiceError) as info:
        invoker(cloud, fn).invoke_function(fn.id, invoke_function_body=b"x" * (6 * 1024 * 1024 + 1),
                                           retry_strategy=NO_RETRY)
    assert info.value.status == 413


def test_older_api_version_20181201(cloud: LocalCloud, application) -> None:  # type: ignore[no-untyped-def]
    # No installed SDK speaks 20181201 any more; sign the request with the SDK's signer.
    signer = oci.signer.Signer.from_config(cloud.config)
    body = json.dumps({"displayName": "old", "applicationId": application.id,
                       "image": IMAGE, "memoryInMBs": 128}).encode()
    response = requests.post(f"{cloud.endpoint}/20181201/functions", data=body, auth=signer,
                             headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["image"] == IMAGE and "sourceDetails" not in created
    current = oci.functions.FunctionsManagementClient(
        cloud.config, service_endpoint=cloud.endpoint).get_function(created["id"]).data
    assert current.source_details.image == IMAGE


def test_resource_principal_and_default_endpoints(cloud: LocalCloud, management,  # type: ignore[no-untyped-def]
                                                  application) -> None:
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
        name="in", compartment_id=cloud.compartment_id))
    storage.put_object(cloud.namespace, "in", "hello.txt", b"object for the function")
    vaults = cloud.client(oci.vault.VaultsClient)
    secret = vaults.create_secret(oci.vault.models.CreateSecretDetails(
        compartment_id=cloud.compartment_id, vault_id=cloud.vault_id, secret_name="pw",
        key_id=cloud.key_id, secret_content=oci.vault.models.Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(b"hunter2").decode()))).data
    cloud.images.put(IMAGE, APPS, "ocifn:app")
    fn = create_function(management, application)
    response = invoker(cloud, fn).invoke_function(fn.id, invoke_function_body=json.dumps({
        "op": "resource-principal", "bucket": "in", "object": "hello.txt",
        "secret_id": secret.id}))
    assert response.headers["Fn-Http-Status"] == "200", response.data.text
    result = response.data.json()
    assert result == {
        "object": "object for the function", "secret": "hunter2",
        # The function used OCI's own endpoint; the local proxy answered for it.
        "url": f"https://objectstorage.{cloud.region}.oraclecloud.com"
               f"/n/{cloud.namespace}/b/in/o/hello.txt",
        "tenancy": cloud.tenancy_id,
    }
