"""Helpers for the deploy tests: the sample service, and counting what the cloud did."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import oci

from fastfn.localcloud.oci import LocalCloud

HELLO = Path(__file__).resolve().parents[1] / "deploy" / "apps" / "hello"


def work_requests(cloud: LocalCloud) -> list[Any]:
    """Every mutating Functions call the cloud has done (each leaves a work request):
    counted on the cloud's side, independently of fastfn's own executor."""
    client = cloud.client(oci.functions.WorkRequestManagementClient)
    items = oci.pagination.list_call_get_all_results(client.list_work_requests,
                                                     cloud.compartment_id).data
    return sorted(items, key=lambda w: w.time_accepted)


def operations(cloud: LocalCloud) -> list[str]:
    return [w.operation_type for w in work_requests(cloud)]


def set_version(service_dir: Path, version: str) -> None:
    main = service_dir / "main.py"
    main.write_text(re.sub(r'VERSION = "\w+"', f'VERSION = "{version}"', main.read_text()))


def set_manifest(service_dir: Path, old: str, new: str) -> None:
    path = service_dir / "fastfn.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def invoke(cloud: LocalCloud, function_id: str) -> dict[str, Any]:
    functions = cloud.client(oci.functions.FunctionsManagementClient)
    fn = functions.get_function(function_id).data
    client = oci.functions.FunctionsInvokeClient(cloud.config,
                                                 service_endpoint=fn.invoke_endpoint)
    response = client.invoke_function(fn.id, invoke_function_body="{}")
    assert response.status == 200
    return dict(json.loads(response.data.text))
