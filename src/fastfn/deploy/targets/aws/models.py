"""What should exist for one stage on AWS Lambda, built from the manifest only.

One stage is: a function `<service>-<stage>` with a LIVE alias (on a published version)
and a function URL on that alias; a layer `<function>-deps` with the dependencies; an
execution role `fastfn-<function>` allowed only its own log group, the stage's S3 prefix
and the SSM parameters its secrets name; the log group `/aws/lambda/<function>`; the
alarms `<function>-errors` and `<function>-duration`; packages under
`s3://<bucket>/<service>/<stage>/`. Every name carries the stage, so stages never share a
resource.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastfn.deploy.models import TAG_SERVICE, TAG_STAGE, stage_key
from fastfn.manifest import Manifest

HANDLER = "fastfn.runtime.aws.handler.handler"
ALIAS = "LIVE"
TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
POLICY_NAME = "fastfn-least-privilege"


@dataclass(frozen=True)
class Account:
    """Where the stage lives: account, region, partition (read once, read-only)."""

    account_id: str
    region: str
    partition: str = "aws"


def b64_sha(hex_sha: str) -> str:
    """Lambda's CodeSha256 (base64) of a zip whose sha256 is `hex_sha`."""
    return base64.b64encode(bytes.fromhex(hex_sha)).decode()


def ssm_parameters(secrets: dict[str, str]) -> list[str]:
    names = []
    for ref in secrets.values():
        if ref.startswith("ssm:"):
            name = ref.removeprefix("ssm:")
            names.append(name if name.startswith("/") else "/" + name)
    return sorted(set(names))


@dataclass(frozen=True)
class AwsDesired:
    service: str
    stage: str
    source_dir: Path
    app: str
    function_name: str
    account: Account
    runtime: str  # python3.X
    architecture: str  # x86_64 | arm64
    memory: int
    timeout: int
    environment: dict[str, str]  # references only, never secret values
    secret_keys: frozenset[str]
    bucket: str
    prefix: str  # <service>/<stage>/
    log_retention_days: int
    url: dict[str, Any] | None  # {"auth": ..., "cors": {AWS casing} | None}
    alarms: dict[str, dict[str, Any]]  # name -> put_metric_alarm settings
    canary_watch_s: float
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def role_name(self) -> str:
        return f"fastfn-{self.function_name}"[:64]

    @property
    def layer_name(self) -> str:
        return f"{self.function_name}-deps"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def arn(self, service: str, resource: str) -> str:
        a = self.account
        return f"arn:{a.partition}:{service}:{a.region}:{a.account_id}:{resource}"

    def policy(self) -> dict[str, Any]:
        """Least privilege: the function's own log group, its stage's S3 prefix, its
        secrets' SSM parameters (nothing else; no wildcard over other stages)."""
        log_group = self.arn("logs", f"log-group:{self.log_group}")
        statements: list[dict[str, Any]] = [
            {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": "logs:CreateLogGroup",
             "Resource": log_group},
            {"Sid": "OwnLogStreams", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"{log_group}:*"},
            {"Sid": "OwnStagePackages", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:{self.account.partition}:s3:::{self.bucket}/{self.prefix}*"},
        ]
        parameters = ssm_parameters({k: self.environment[k] for k in self.secret_keys})
        if parameters:
            statements.append({
                "Sid": "OwnSecrets", "Effect": "Allow", "Action": "ssm:GetParameter",
                "Resource": [self.arn("ssm", f"parameter{name}") for name in parameters]})
        return {"Version": "2012-10-17", "Statement": statements}

    def function_settings(self) -> dict[str, Any]:
        """The settings a published version carries (compared version by version)."""
        return {"runtime": self.runtime, "handler": HANDLER, "memory": self.memory,
                "timeout": self.timeout, "architecture": self.architecture,
                "config": dict(self.environment)}

    def fingerprint(self) -> dict[str, Any]:
        return {"function": self.function_settings(), "url": self.url,
                "alarms": self.alarms, "log_retention_days": self.log_retention_days,
                "bucket": self.bucket, "policy": self.policy()}

    def settings_digest(self) -> str:
        return hashlib.sha256(json.dumps(self.function_settings(),
                                         sort_keys=True).encode()).hexdigest()


def _cors(cors: Any) -> dict[str, Any] | None:
    if cors is None:
        return None
    out: dict[str, Any] = {"AllowOrigins": list(cors.allow_origins),
                           "AllowMethods": list(cors.allow_methods)}
    if cors.allow_headers:
        out["AllowHeaders"] = list(cors.allow_headers)
    if cors.expose_headers:
        out["ExposeHeaders"] = list(cors.expose_headers)
    if cors.max_age:
        out["MaxAge"] = cors.max_age
    if cors.allow_credentials:
        out["AllowCredentials"] = True
    return out


def _alarms(function_name: str, section: Any) -> dict[str, dict[str, Any]]:
    dimensions = [{"Name": "FunctionName", "Value": function_name},
                  {"Name": "Resource", "Value": f"{function_name}:{ALIAS}"}]
    errors, duration = section.alarms.errors, section.alarms.duration
    common = {"Namespace": "AWS/Lambda", "Dimensions": dimensions,
              "ComparisonOperator": "GreaterThanOrEqualToThreshold",
              "TreatMissingData": "notBreaching"}
    return {
        f"{function_name}-errors": {**common, "MetricName": "Errors", "Statistic": "Sum",
                                    "Period": errors.period,
                                    "EvaluationPeriods": errors.evaluation_periods,
                                    "Threshold": float(errors.threshold)},
        f"{function_name}-duration": {**common, "MetricName": "Duration",
                                      "Statistic": "Average", "Period": duration.period,
                                      "EvaluationPeriods": duration.evaluation_periods,
                                      "Threshold": float(duration.threshold_ms)},
    }


def desired_from(manifest: Manifest, service_dir: Path, stage: str | None,
                 account: Account, runtime_python: str | None = None,
                 bucket: str | None = None) -> AwsDesired:
    """`runtime_python`: the Python the functions run on (the embedded AWS runs this
    interpreter's), default the manifest's."""
    common = manifest.common(stage)
    section = manifest.section("aws", stage)
    environment = common.function_config() | {"FASTFN_APP": common.app}
    url = None
    if section.function_url.enabled:
        url = {"auth": section.function_url.auth, "cors": _cors(section.function_url.cors)}
    key = stage_key(stage)
    return AwsDesired(
        service=common.service, stage=key, source_dir=Path(service_dir), app=common.app,
        function_name=common.name, account=account,
        runtime=f"python{runtime_python or common.python}",
        architecture=section.architecture, memory=section.memory, timeout=section.timeout,
        environment=environment, secret_keys=frozenset(common.secrets),
        bucket=bucket or section.bucket or
        f"fastfn-{account.account_id}-{account.region}",
        prefix=f"{common.service}/{key}/", log_retention_days=section.log_retention_days,
        url=url, alarms=_alarms(common.name, section),
        canary_watch_s=float(section.canary.watch_seconds),
        tags={TAG_SERVICE: common.service, TAG_STAGE: key})
