"""What exists for one stage on AWS, read with read-only calls only (Get*, List*,
Describe*, HeadBucket)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastfn.deploy.errors import TargetError
from fastfn.deploy.targets.aws.models import ALIAS, POLICY_NAME, AwsDesired


@dataclass(frozen=True)
class LiveVersion:
    version: str
    code_sha256: str  # base64, as Lambda reports it
    layers: tuple[str, ...]
    role: str
    settings: dict[str, Any]  # the keys of AwsDesired.function_settings()
    last_update: str = "Successful"


@dataclass
class AwsObserved:
    bucket: bool = False
    objects: frozenset[str] = frozenset()  # keys under the stage's prefix
    role: dict[str, Any] | None = None  # arn, policy (dict or None)
    log_group: dict[str, Any] | None = None  # retention (days or None)
    layers: list[dict[str, Any]] = field(default_factory=list)  # newest first: arn, sha
    function: LiveVersion | None = None  # $LATEST
    function_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    versions: list[LiveVersion] = field(default_factory=list)  # published, oldest first
    alias: dict[str, Any] | None = None  # arn, version, weights {version: weight}
    url: dict[str, Any] | None = None  # url, auth, cors
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> settings

    @property
    def deployed(self) -> bool:
        return self.function is not None

    @property
    def layer(self) -> dict[str, Any] | None:
        return self.layers[0] if self.layers else None

    def live_version(self) -> LiveVersion | None:
        """The version LIVE sends (most of) the traffic to, else $LATEST."""
        if self.alias is not None:
            for version in self.versions:
                if version.version == self.alias["version"]:
                    return version
        return self.function

    def ids(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.function_arn:
            found["function"] = self.function_arn
        if self.role:
            found["role"] = self.role["arn"]
        if self.layer:
            found["layer"] = self.layer["arn"]
        if self.alias:
            found["alias"] = self.alias["arn"]
            found["version"] = self.alias["version"]
        if self.url:
            found["url"] = self.url["url"]
        return found


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _missing(call: Callable[[], Any], *codes: str) -> Any:
    """The call's answer, or None when the resource does not exist."""
    try:
        return call()
    except Exception as exc:
        if _code(exc) in codes:
            return None
        if hasattr(exc, "response"):
            raise TargetError(f"AWS refused a read ({_code(exc)}): {exc}") from None
        raise TargetError(f"cannot reach AWS: {type(exc).__name__}: {exc}") from None


def version_from(config: dict[str, Any]) -> LiveVersion:
    return LiveVersion(
        version=str(config.get("Version") or "$LATEST"),
        code_sha256=str(config.get("CodeSha256") or ""),
        layers=tuple(str(layer["Arn"]) for layer in config.get("Layers") or ()),
        role=str(config.get("Role") or ""),
        last_update=str(config.get("LastUpdateStatus") or "Successful"),
        settings={"runtime": config.get("Runtime"), "handler": config.get("Handler"),
                  "memory": config.get("MemorySize"), "timeout": config.get("Timeout"),
                  "architecture": (config.get("Architectures") or ["x86_64"])[0],
                  "config": dict((config.get("Environment") or {}).get("Variables") or {})})


def observe(client: Callable[[str], Any], desired: AwsDesired) -> AwsObserved:
    s3, lam = client("s3"), client("lambda")
    seen = AwsObserved()
    seen.bucket = _missing(lambda: s3.head_bucket(Bucket=desired.bucket), "404", "NoSuchBucket",
                           "NotFound") is not None
    if seen.bucket:
        keys: set[str] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=desired.bucket,
                                                                 Prefix=desired.prefix):
            keys.update(item["Key"] for item in page.get("Contents") or ())
        seen.objects = frozenset(keys)
    _observe_role(client("iam"), desired, seen)
    groups = _missing(lambda: client("logs").describe_log_groups(
        logGroupNamePrefix=desired.log_group), "ResourceNotFoundException") or {}
    for group in groups.get("logGroups") or ():
        if group["logGroupName"] == desired.log_group:
            seen.log_group = {"retention": group.get("retentionInDays")}
    listed = _missing(lambda: lam.list_layer_versions(LayerName=desired.layer_name),
                      "ResourceNotFoundException") or {}
    for item in sorted(listed.get("LayerVersions") or (), key=lambda v: -int(v["Version"])):
        got = lam.get_layer_version(LayerName=desired.layer_name,
                                    VersionNumber=int(item["Version"]))
        seen.layers.append({"arn": item["LayerVersionArn"], "version": int(item["Version"]),
                            "sha": (got.get("Content") or {}).get("CodeSha256")})
    _observe_function(lam, desired, seen)
    names = list(desired.alarms)
    for alarm in client("cloudwatch").describe_alarms(AlarmNames=names).get(
            "MetricAlarms") or ():
        seen.alarms[alarm["AlarmName"]] = _alarm_settings(alarm)
    return seen


def _observe_role(iam: Any, desired: AwsDesired, seen: AwsObserved) -> None:
    role = _missing(lambda: iam.get_role(RoleName=desired.role_name), "NoSuchEntity")
    if role is None:
        return
    policy = _missing(lambda: iam.get_role_policy(RoleName=desired.role_name,
                                                  PolicyName=POLICY_NAME), "NoSuchEntity")
    document = None
    if policy is not None:
        document = policy["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(urllib.parse.unquote(document))
    seen.role = {"arn": role["Role"]["Arn"], "policy": document}


def _observe_function(lam: Any, desired: AwsDesired, seen: AwsObserved) -> None:
    name = desired.function_name
    config = _missing(lambda: lam.get_function_configuration(FunctionName=name),
                      "ResourceNotFoundException")
    if config is None:
        return
    seen.function = version_from(config)
    seen.function_arn = str(config["FunctionArn"])
    tags = _missing(lambda: lam.list_tags(Resource=seen.function_arn),
                    "ResourceNotFoundException") or {}
    seen.tags = dict(tags.get("Tags") or {})
    versions = []
    for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=name):
        versions += [version_from(v) for v in page.get("Versions") or ()
                     if v.get("Version") != "$LATEST"]
    seen.versions = sorted(versions, key=lambda v: int(v.version))
    alias = _missing(lambda: lam.get_alias(FunctionName=name, Name=ALIAS),
                     "ResourceNotFoundException")
    if alias is not None:
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        seen.alias = {"arn": alias["AliasArn"], "version": str(alias["FunctionVersion"]),
                      "weights": {str(k): float(v) for k, v in weights.items()}}
    url = _missing(lambda: lam.get_function_url_config(FunctionName=name, Qualifier=ALIAS),
                   "ResourceNotFoundException")
    if url is not None:
        seen.url = {"url": url["FunctionUrl"], "auth": url.get("AuthType"),
                    "cors": url.get("Cors") or None}


def _alarm_settings(alarm: dict[str, Any]) -> dict[str, Any]:
    return {"Namespace": alarm.get("Namespace"), "MetricName": alarm.get("MetricName"),
            "Statistic": alarm.get("Statistic"), "Period": alarm.get("Period"),
            "EvaluationPeriods": alarm.get("EvaluationPeriods"),
            "Threshold": float(alarm.get("Threshold") or 0),
            "ComparisonOperator": alarm.get("ComparisonOperator"),
            "TreatMissingData": alarm.get("TreatMissingData"),
            "Dimensions": sorted(alarm.get("Dimensions") or (), key=lambda d: d["Name"]),
            "state": alarm.get("StateValue")}
