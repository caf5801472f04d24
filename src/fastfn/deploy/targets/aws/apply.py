"""One planned step against AWS, through boto3, waited for.

`OPERATIONS` maps each operation the planner emits to the boto3 call(s) that make it, and
`CONDITIONS` each WaitFor; anything missing from the tables is refused, never guessed.
Every operation returns the id of the resource it made or changed (or None).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from fastfn.deploy.errors import TargetError
from fastfn.deploy.steps import Call, WaitFor
from fastfn.deploy.targets.aws.models import ALIAS, HANDLER

Clients = Callable[[str], Any]
Blobs = Callable[[str], bytes]  # sha256 hex -> the zip's bytes
Operation = Callable[[Clients, Blobs, Call, dict[str, str]], str | None]
ROLE_PROPAGATION_S = 60.0


class CanaryAborted(TargetError):
    """An alarm went to ALARM while a canary ran: LIVE was moved back in full."""


def _create_bucket(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    from fastfn.deploy.leases.s3 import ensure_bucket

    ensure_bucket(c("s3"), call.params["bucket"], call.params["region"])
    return call.params["bucket"]


def _put_object(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    import base64
    import hashlib

    p = call.params
    data = blobs(p["sha256"])
    c("s3").put_object(Bucket=p["bucket"], Key=p["key"], Body=data,
                       ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode())
    return p["key"]


def _publish_layer_version(c: Clients, blobs: Blobs, call: Call,
                           ids: dict[str, str]) -> str | None:
    p = call.params
    got = c("lambda").publish_layer_version(
        LayerName=call.name, Description=p["description"],
        Content={"S3Bucket": p["bucket"], "S3Key": p["key"]},
        CompatibleRuntimes=[p["runtime"]], CompatibleArchitectures=[p["architecture"]])
    return str(got["LayerVersionArn"])


def _create_role(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    got = c("iam").create_role(
        RoleName=call.name, AssumeRolePolicyDocument=json.dumps(call.params["trust"]),
        Description="fastfn: execution role of one Lambda stage",
        Tags=[{"Key": k, "Value": v} for k, v in call.params["tags"].items()])
    return str(got["Role"]["Arn"])


def _put_role_policy(c: Clients, blobs: Blobs, call: Call,
                     ids: dict[str, str]) -> str | None:
    c("iam").put_role_policy(RoleName=call.name, PolicyName=call.params["policy_name"],
                             PolicyDocument=json.dumps(call.params["policy"]))
    return None


def _create_log_group(c: Clients, blobs: Blobs, call: Call,
                      ids: dict[str, str]) -> str | None:
    c("logs").create_log_group(logGroupName=call.name, tags=call.params["tags"])
    return None


def _put_retention_policy(c: Clients, blobs: Blobs, call: Call,
                          ids: dict[str, str]) -> str | None:
    c("logs").put_retention_policy(logGroupName=call.name,
                                   retentionInDays=call.params["days"])
    return None


def _config_kwargs(p: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if "runtime" in p:
        kwargs.update(Runtime=p["runtime"], Handler=p["handler"], MemorySize=p["memory"],
                      Timeout=p["timeout"], Environment={"Variables": p["environment"]},
                      Role=ids["role"])
    layer = p.get("layer") or ids.get("layer")
    kwargs["Layers"] = [layer] if layer else []
    return kwargs


def _retry_role(action: Callable[[], Any]) -> Any:
    """A role just created takes a while before Lambda may assume it (IAM is eventually
    consistent): retry that one refusal for a minute."""
    deadline = time.monotonic() + ROLE_PROPAGATION_S
    while True:
        try:
            return action()
        except Exception as exc:
            message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
            if "role" not in message.lower() or "assume" not in message.lower() or \
                    time.monotonic() > deadline:
                raise
            time.sleep(2.0)


def _create_function(c: Clients, blobs: Blobs, call: Call,
                     ids: dict[str, str]) -> str | None:
    p = call.params
    got = _retry_role(lambda: c("lambda").create_function(
        FunctionName=call.name, PackageType="Zip", Publish=False,
        Code={"S3Bucket": p["bucket"], "S3Key": p["key"]},
        Architectures=[p["architecture"]], Tags=p["tags"], **_config_kwargs(p, ids)))
    return str(got["FunctionArn"])


def _update_function_configuration(c: Clients, blobs: Blobs, call: Call,
                                   ids: dict[str, str]) -> str | None:
    _retry_role(lambda: c("lambda").update_function_configuration(
        FunctionName=call.name, **_config_kwargs(call.params, ids)))
    return ids.get("function")


def _update_function_code(c: Clients, blobs: Blobs, call: Call,
                          ids: dict[str, str]) -> str | None:
    p = call.params
    c("lambda").update_function_code(FunctionName=call.name, S3Bucket=p["bucket"],
                                     S3Key=p["key"], Architectures=[p["architecture"]])
    return ids.get("function")


def _publish_version(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    got = c("lambda").publish_version(FunctionName=call.name,
                                      Description=call.params["description"])
    return str(got["Version"])


def _routing(p: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    if p.get("weight") is None:
        return {"AdditionalVersionWeights": {}}
    return {"AdditionalVersionWeights": {p.get("canary_version") or ids["version"]:
                                         p["weight"]}}


def _create_alias(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    p = call.params
    got = c("lambda").create_alias(FunctionName=p["function"], Name=call.name,
                                   FunctionVersion=p["version"] or ids["version"])
    return str(got["AliasArn"])


def _update_alias(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    p = call.params
    version = p["version"] or ids["version"]
    c("lambda").update_alias(FunctionName=p["function"], Name=call.name,
                             FunctionVersion=version, RoutingConfig=_routing(p, ids))
    return version


def _create_url(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    p = call.params
    kwargs: dict[str, Any] = {"FunctionName": call.name, "Qualifier": p["qualifier"],
                              "AuthType": p["auth"]}
    if p["cors"]:
        kwargs["Cors"] = p["cors"]
    return str(c("lambda").create_function_url_config(**kwargs)["FunctionUrl"])


def _update_url(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    p = call.params
    got = c("lambda").update_function_url_config(
        FunctionName=call.name, Qualifier=p["qualifier"], AuthType=p["auth"],
        Cors=p["cors"] or {})
    return str(got["FunctionUrl"])


def _add_permission(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    p = call.params
    lam = c("lambda")
    # A conflict: the statement is there already (a deploy interrupted after it).
    with contextlib.suppress(lam.exceptions.ResourceConflictException):
        lam.add_permission(FunctionName=call.name, Qualifier=p["qualifier"],
                           StatementId=p["statement_id"], Action="lambda:InvokeFunctionUrl",
                           Principal="*", FunctionUrlAuthType="NONE")
    return p["statement_id"]


def _delete_url(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    c("lambda").delete_function_url_config(FunctionName=call.name,
                                           Qualifier=call.params["qualifier"])
    return None


def _put_metric_alarm(c: Clients, blobs: Blobs, call: Call,
                      ids: dict[str, str]) -> str | None:
    c("cloudwatch").put_metric_alarm(AlarmName=call.name, ActionsEnabled=False,
                                     AlarmDescription="fastfn: a LIVE canary is rolled back "
                                     "when this alarm fires", **call.params)
    return None


def _delete(service: str, method: str, **fixed: str) -> Operation:
    def run(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
        kwargs = {key: (call.name if value == "$name" else call.params[value])
                  for key, value in fixed.items()}
        getattr(c(service), method)(**kwargs)
        return None

    return run


def _delete_objects(c: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    keys = call.params["keys"]
    for start in range(0, len(keys), 1000):
        c("s3").delete_objects(Bucket=call.params["bucket"], Delete={
            "Objects": [{"Key": key} for key in keys[start:start + 1000]], "Quiet": True})
    return None


OPERATIONS: dict[str, Operation] = {
    "create_bucket": _create_bucket,
    "put_object": _put_object,
    "publish_layer_version": _publish_layer_version,
    "create_role": _create_role,
    "put_role_policy": _put_role_policy,
    "create_log_group": _create_log_group,
    "put_retention_policy": _put_retention_policy,
    "create_function": _create_function,
    "update_function_configuration": _update_function_configuration,
    "update_function_code": _update_function_code,
    "publish_version": _publish_version,
    "create_alias": _create_alias,
    "update_alias": _update_alias,
    "create_function_url_config": _create_url,
    "update_function_url_config": _update_url,
    "add_permission": _add_permission,
    "delete_function_url_config": _delete_url,
    "put_metric_alarm": _put_metric_alarm,
    "delete_function": _delete("lambda", "delete_function", FunctionName="$name"),
    "delete_alarms": _delete("cloudwatch", "delete_alarms", AlarmNames="names"),
    "delete_log_group": _delete("logs", "delete_log_group", logGroupName="$name"),
    "delete_role_policy": _delete("iam", "delete_role_policy", RoleName="$name",
                                  PolicyName="policy_name"),
    "delete_role": _delete("iam", "delete_role", RoleName="$name"),
    "delete_layer_version": _delete("lambda", "delete_layer_version", LayerName="$name",
                                    VersionNumber="version"),
    "delete_objects": _delete_objects,
}


def apply_call(clients: Clients, blobs: Blobs, call: Call, ids: dict[str, str]) -> str | None:
    operation = OPERATIONS.get(call.operation)
    if operation is None:
        raise TargetError(f"the aws target has no operation {call.operation!r}")
    try:
        return operation(clients, blobs, call, ids)
    except TargetError:
        raise
    except Exception as exc:
        error = getattr(exc, "response", {}).get("Error", {})
        if error:
            raise TargetError(f"{call.operation} {call.name}: {error.get('Code')}: "
                              f"{error.get('Message')}") from None
        raise TargetError(f"{call.operation} {call.name}: cannot reach AWS: "
                          f"{type(exc).__name__}: {exc}") from None


# -- waits ---------------------------------------------------------------------------------

def _function_ready(clients: Clients, step: WaitFor, ids: dict[str, str],
                    poll_s: float) -> None:
    deadline = time.monotonic() + step.timeout_s
    lam = clients("lambda")
    while True:
        config = lam.get_function_configuration(FunctionName=step.name)
        state, update = config.get("State", "Active"), config.get("LastUpdateStatus",
                                                                  "Successful")
        if state == "Failed" or update == "Failed":
            reason = config.get("LastUpdateStatusReason") or config.get("StateReason")
            raise TargetError(f"{step.name}: the update failed: {reason}")
        if state == "Active" and update in ("Successful", None):
            return
        if time.monotonic() > deadline:
            raise TargetError(f"{step.name} still {state}/{update} after "
                              f"{step.timeout_s:.0f} s")
        time.sleep(poll_s)


def _alarms_quiet(clients: Clients, step: WaitFor, ids: dict[str, str],
                  poll_s: float) -> None:
    """Watch the stage's alarms for `watch_s`; one in ALARM ends the canary: LIVE goes
    back to the stable version in full, and the deploy fails."""
    p = step.params
    until = time.monotonic() + float(p["watch_s"])
    watch = clients("cloudwatch")
    while True:
        alarms = watch.describe_alarms(AlarmNames=p["alarms"]).get("MetricAlarms") or ()
        firing = sorted(a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM")
        if firing:
            clients("lambda").update_alias(FunctionName=p["function"], Name=ALIAS,
                                           FunctionVersion=p["stable_version"],
                                           RoutingConfig={"AdditionalVersionWeights": {}})
            raise CanaryAborted(f"canary aborted: {', '.join(firing)} in ALARM; {ALIAS} is "
                                f"back on version {p['stable_version']} in full")
        if time.monotonic() >= until:
            return
        time.sleep(min(poll_s, max(0.0, until - time.monotonic())))


CONDITIONS: dict[str, Callable[[Clients, WaitFor, dict[str, str], float], None]] = {
    "function_active": _function_ready,
    "function_updated": _function_ready,
    "alarms_quiet": _alarms_quiet,
}


def apply_wait(clients: Clients, step: WaitFor, ids: dict[str, str], poll_s: float) -> None:
    condition = CONDITIONS.get(step.condition)
    if condition is None:
        raise TargetError(f"the aws target has no wait {step.condition!r}")
    try:
        condition(clients, step, ids, poll_s)
    except TargetError:
        raise
    except Exception as exc:
        raise TargetError(f"waiting for {step.condition} on {step.name}: "
                          f"{type(exc).__name__}: {exc}") from None


__all__ = ["CONDITIONS", "HANDLER", "OPERATIONS", "CanaryAborted", "apply_call",
           "apply_wait"]
