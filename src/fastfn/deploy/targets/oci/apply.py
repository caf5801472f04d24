"""One planned call against OCI Functions (API 20260325), followed to its end.

`OPERATIONS` maps each operation the planner emits to the SDK call that makes it; an
operation missing from the table is refused, never guessed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastfn.deploy.errors import TargetError
from fastfn.deploy.steps import Call

WORK_REQUEST_TIMEOUT_S = 600.0
DONE = {"SUCCEEDED", "FAILED", "CANCELED"}

# (functions client, oci.functions.models, call, ids) -> (response, resource id)
Operation = Callable[[Any, Any, Call, dict[str, str]], tuple[Any, str | None]]


def _create_application(functions: Any, m: Any, call: Call,
                        ids: dict[str, str]) -> tuple[Any, str | None]:
    p = call.params
    response = functions.create_application(m.CreateApplicationDetails(
        compartment_id=p["compartment_id"], display_name=call.name,
        shape=p["shape"], subnet_ids=p["subnet_ids"], config=p["config"],
        network_security_group_ids=p["network_security_group_ids"] or None,
        syslog_url=p["syslog_url"], freeform_tags=p["tags"]))
    return response, response.data.id


def _update_application(functions: Any, m: Any, call: Call,
                        ids: dict[str, str]) -> tuple[Any, str | None]:
    return (functions.update_application(call.resource_id,
                                         m.UpdateApplicationDetails(**call.params)),
            call.resource_id)


def _create_function(functions: Any, m: Any, call: Call,
                     ids: dict[str, str]) -> tuple[Any, str | None]:
    p = call.params
    response = functions.create_function(m.CreateFunctionDetails(
        display_name=call.name, application_id=ids["application"],
        memory_in_mbs=p["memory"], timeout_in_seconds=p["timeout"],
        config=p["config"], freeform_tags=p["tags"], **_function_extras(m, p),
        source_details=m.CreateContainerImageFunctionSourceDetails(
            image=p["image"], image_digest=p["image_digest"])))
    return response, response.data.id


def _update_function(functions: Any, m: Any, call: Call,
                     ids: dict[str, str]) -> tuple[Any, str | None]:
    return (functions.update_function(call.resource_id,
                                      _update_function_details(m, call.params)),
            call.resource_id)


def _delete_function(functions: Any, m: Any, call: Call,
                     ids: dict[str, str]) -> tuple[Any, str | None]:
    return functions.delete_function(call.resource_id), call.resource_id


def _delete_application(functions: Any, m: Any, call: Call,
                        ids: dict[str, str]) -> tuple[Any, str | None]:
    return functions.delete_application(call.resource_id), call.resource_id


OPERATIONS: dict[str, Operation] = {
    "create_application": _create_application,
    "update_application": _update_application,
    "create_function": _create_function,
    "update_function": _update_function,
    "delete_function": _delete_function,
    "delete_application": _delete_application,
}


def apply_call(functions: Any, work: Any, call: Call, ids: dict[str, str],
               poll_interval_s: float = 1.0) -> str | None:
    """Make `call` and wait for its work request; returns the resource's id."""
    import oci

    operation = OPERATIONS.get(call.operation)
    if operation is None:
        raise TargetError(f"unknown operation {call.operation}")
    try:
        response, resource_id = operation(functions, oci.functions.models, call, ids)
    except oci.exceptions.ServiceError as exc:
        raise TargetError(f"{call.operation} {call.name}: {exc.status} {exc.code}: "
                          f"{exc.message}") from None
    wait_for_work_request(work, response.headers.get("opc-work-request-id"), call,
                          poll_interval_s)
    return resource_id


def wait_for_work_request(work: Any, work_request_id: str | None, call: Call,
                          poll_interval_s: float = 1.0) -> None:
    """Follow the work request to its end (20260325 mutations are asynchronous).

    The SDK's *_and_wait_for_state helpers cannot be used: in oci 2.189 they call a
    get_work_request that FunctionsManagementClient lacks."""
    if not work_request_id:
        return
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
        delay = min(max(delay * 2, 0.2), poll_interval_s * 5)
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
