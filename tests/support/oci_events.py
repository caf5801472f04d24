"""Setting up an upload-triggered function on a local cloud (rule, bucket, function)."""

from __future__ import annotations

import json
from pathlib import Path

import oci
from oci.events.models import ActionDetailsList, CreateFaaSActionDetails, CreateRuleDetails
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
)

from fastfn.localcloud.oci import LocalCloud

from support.oci import IMAGE

UPLOAD = "com.oraclecloud.objectstorage.createobject"


def deploy(cloud: LocalCloud, markers: Path, image: str = IMAGE,
           fail_events: int = 0) -> oci.functions.models.Function:
    management = cloud.client(oci.functions.FunctionsManagementClient)
    app = management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="events", subnet_ids=[cloud.subnet_id],
        config={"FASTFN_EVENT_ROUTE": "POST /events", "MARKER_DIR": str(markers),
                "FAIL_EVENTS": str(fail_events)})).data
    return management.create_function(CreateFunctionDetails(
        display_name="on-upload", application_id=app.id,
        source_details=CreateContainerImageFunctionSourceDetails(image=image),
        memory_in_mbs=128)).data


def rule_on_uploads(cloud: LocalCloud, bucket: str, fn_id: str) -> oci.events.models.Rule:
    condition = json.dumps({"eventType": [UPLOAD],
                            "data": {"additionalDetails": {"bucketName": [bucket]}}})
    return cloud.client(oci.events.EventsClient).create_rule(CreateRuleDetails(
        display_name="uploads", is_enabled=True, condition=condition,
        compartment_id=cloud.compartment_id,
        actions=ActionDetailsList(actions=[CreateFaaSActionDetails(
            action_type="FAAS", is_enabled=True, function_id=fn_id)]))).data


def bucket(cloud: LocalCloud, name: str,
           events: bool = True) -> oci.object_storage.ObjectStorageClient:
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
        name=name, compartment_id=cloud.compartment_id, object_events_enabled=events))
    return storage
