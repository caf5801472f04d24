"""The planner for a Lambda stage: pure, from what is desired and what was observed.

full        packages to S3 (only a zip not there yet), the layer (only a new dependency
            set), role and policy, log group, the function: create, or a configuration
            update and/or a code update, each waited for; a version is published only when
            no published version already matches, and LIVE moves to it; the URL on LIVE
            with CORS; the alarms. Nothing that matches is called: a no-op deploy is 0 calls.
canary      as full, but LIVE keeps its version and sends N% to the new one
            (RoutingConfig.AdditionalVersionWeights), then a WaitFor watches the alarms;
            one in ALARM moves all traffic back (apply.py) and fails the deploy.
image-only  the code (and layer) alone.
rollback    LIVE to the version recorded with the previous artifact: one call.
promote     LIVE to the canary's version, weights cleared: one call.
destroy     URL, function (its versions and alias), alarms, log group, role, layers, the
            stage's packages; the bucket stays (it holds other stages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastfn.deploy.models import foreign_refusal
from fastfn.deploy.plan import Mode, Plan, PlanOptions, SettingChange, settings_diff
from fastfn.deploy.steps import Artifact, Call, Step, WaitFor
from fastfn.deploy.targets.aws.models import (
    ALIAS,
    HANDLER,
    POLICY_NAME,
    TRUST_POLICY,
    AwsDesired,
    b64_sha,
)
from fastfn.deploy.targets.aws.observe import AwsObserved, LiveVersion

UPDATE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Packages:
    code_sha: str  # hex sha256 of the code zip
    deps_sha: str  # hex sha256 of the dependency layer zip

    def code_key(self, desired: AwsDesired) -> str:
        return f"{desired.prefix}code/{self.code_sha}.zip"

    def deps_key(self, desired: AwsDesired) -> str:
        return f"{desired.prefix}deps/{self.deps_sha}.zip"


class _Steps:
    def __init__(self, desired: AwsDesired) -> None:
        self.desired = desired
        self.steps: list[Step] = []

    def call(self, operation: str, resource: str, name: str, resource_id: str | None,
             **params: Any) -> None:
        self.steps.append(Call(operation, resource, name, resource_id, params))

    def wait(self, condition: str, resource: str, name: str, timeout_s: float,
             **params: Any) -> None:
        self.steps.append(WaitFor(condition, resource, name, None, timeout_s, params))


def drift(desired: AwsDesired, observed: AwsObserved) -> list[SettingChange]:
    """What the live stage has that the manifest does not say (code excluded). The
    function's settings are read from $LATEST, where a console edit lands and what the
    next version is published from."""
    if observed.function is None:
        return []
    changes = settings_diff("function", observed.function.settings, desired.function_settings(),
                            frozenset(desired.environment))
    if observed.role and observed.role["policy"] != desired.policy():
        changes.append(SettingChange("role", "policy", observed.role["policy"],
                                     desired.policy()))
    if observed.log_group and observed.log_group["retention"] != desired.log_retention_days:
        changes.append(SettingChange("log_group", "retention_days",
                                     observed.log_group["retention"],
                                     desired.log_retention_days))
    live_url = None if observed.url is None else {"auth": observed.url["auth"],
                                                  "cors": observed.url["cors"]}
    if live_url != desired.url:
        changes.append(SettingChange("url", "function_url", live_url, desired.url))
    for name, spec in desired.alarms.items():
        have = {k: v for k, v in observed.alarms.get(name, {}).items() if k != "state"}
        want = _alarm_compare(spec)
        for key in sorted(want):
            if have.get(key) != want[key]:
                changes.append(SettingChange("alarm", f"{name}.{key}", have.get(key),
                                             want[key]))
    if observed.alias and observed.alias["weights"]:
        changes.append(SettingChange("alias", "canary", observed.alias["weights"], {}))
    return changes


def _alarm_compare(spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "Dimensions": sorted(spec["Dimensions"], key=lambda d: d["Name"])}


def _matches(version: LiveVersion, desired: AwsDesired, code_b64: str,
             layer_arn: str | None, role_arn: str | None) -> bool:
    return (version.code_sha256 == code_b64 and version.settings ==
            desired.function_settings() and list(version.layers) ==
            ([layer_arn] if layer_arn else []) and (role_arn is None or version.role == role_arn))


def plan(desired: AwsDesired, packages: Packages | None, artifact: Artifact | None,
         observed: AwsObserved, mode: Mode, options: PlanOptions) -> Plan:
    refusals = foreign_refusal("function", desired.function_name,
                               observed.function_arn or "", observed.tags, desired.stage)
    out = _Steps(desired)
    if not refusals:
        if mode == "destroy":
            _destroy(out, desired, observed)
        elif mode == "rollback":
            refusals += _rollback(out, desired, observed, artifact)
        elif mode == "promote":
            refusals += _promote(out, desired, observed)
        else:
            assert packages is not None, "a deploy plan needs the packages"
            refusals += _deploy(out, desired, packages, observed, mode, options)
    return Plan(service=desired.service, stage=desired.stage, mode=mode, calls=out.steps,
                changes=drift(desired, observed) if mode in ("full", "image-only") else [],
                refusals=refusals, artifact=artifact, observed=observed)


def _deploy(out: _Steps, desired: AwsDesired, packages: Packages, observed: AwsObserved,
            mode: Mode, options: PlanOptions) -> list[str]:
    canary = options.canary_percent
    if canary is not None and (observed.alias is None or observed.function is None):
        return [f"--canary needs a version already LIVE on {desired.function_name}: deploy "
                "it once without --canary"]
    if canary is not None and observed.alias and observed.alias["weights"]:
        return [f"a canary is already running on {desired.function_name} "
                f"({observed.alias['weights']}): `fastfn promote` or `fastfn rollback` first"]
    full = mode == "full"
    if not full and observed.function is None:
        return [f"{desired.function_name} is not deployed yet: an image-only update needs "
                "a full deploy first"]
    name, bucket = desired.function_name, desired.bucket
    if not observed.bucket:
        out.call("create_bucket", "bucket", bucket, None, bucket=bucket,
                 region=desired.account.region)
    layer = observed.layer
    layer_arn = layer["arn"] if layer and layer["sha"] == b64_sha(packages.deps_sha) else None
    if layer_arn is None:
        key = packages.deps_key(desired)
        if key not in observed.objects:
            out.call("put_object", "deps_package", key, None, bucket=bucket, key=key,
                     sha256=packages.deps_sha)
        out.call("publish_layer_version", "layer", desired.layer_name, None, bucket=bucket,
                 key=key, runtime=desired.runtime, architecture=desired.architecture,
                 description=f"{desired.service} {desired.stage} dependencies "
                             f"{packages.deps_sha[:12]}")
    code_b64 = b64_sha(packages.code_sha)
    live = observed.function
    code_changed = live is None or live.code_sha256 != code_b64 or (
        live.settings["architecture"] != desired.architecture)
    code_key = packages.code_key(desired)
    if code_changed and code_key not in observed.objects:
        out.call("put_object", "code_package", code_key, None, bucket=bucket, key=code_key,
                 sha256=packages.code_sha)
    role_arn = observed.role["arn"] if observed.role else None
    if full or observed.role is None:
        if observed.role is None:
            out.call("create_role", "role", desired.role_name, None, trust=TRUST_POLICY,
                     tags=desired.tags)
        if observed.role is None or observed.role["policy"] != desired.policy():
            out.call("put_role_policy", "role_policy", desired.role_name, role_arn,
                     policy_name=POLICY_NAME, policy=desired.policy())
        if observed.log_group is None:
            out.call("create_log_group", "log_group", desired.log_group, None,
                     tags=desired.tags)
        if (observed.log_group or {}).get("retention") != desired.log_retention_days:
            out.call("put_retention_policy", "log_group", desired.log_group, None,
                     days=desired.log_retention_days)
    config_params = {"runtime": desired.runtime, "handler": HANDLER,
                     "memory": desired.memory, "timeout": desired.timeout,
                     "environment": dict(desired.environment), "layer": layer_arn}
    updated = False
    if live is None:
        out.call("create_function", "function", name, None, bucket=bucket, key=code_key,
                 architecture=desired.architecture, tags=desired.tags, **config_params)
        out.wait("function_active", "function", name, UPDATE_TIMEOUT_S)
        updated = True
    else:
        wanted = desired.function_settings() if full else {
            **live.settings, "architecture": desired.architecture}
        have = {k: v for k, v in live.settings.items() if k != "architecture"}
        want = {k: v for k, v in wanted.items() if k != "architecture"}
        layers_ok = layer_arn is not None and list(live.layers) == [layer_arn]
        role_ok = role_arn is not None and live.role == role_arn
        if have != want or not layers_ok or not role_ok:
            params = config_params if full else {"layer": layer_arn}
            out.call("update_function_configuration", "function", name,
                     observed.function_arn, **params)
            out.wait("function_updated", "function", name, UPDATE_TIMEOUT_S)
            updated = True
        if code_changed:
            out.call("update_function_code", "function", name, observed.function_arn,
                     bucket=bucket, key=code_key, architecture=desired.architecture)
            out.wait("function_updated", "function", name, UPDATE_TIMEOUT_S)
            updated = True
    target_version = None
    if not updated:
        for version in reversed(observed.versions):
            if _matches(version, desired, code_b64, layer_arn, role_arn) or (
                    not full and version.code_sha256 == code_b64
                    and version.settings == live.settings):  # type: ignore[union-attr]
                target_version = version.version
                break
    if target_version is None:
        out.call("publish_version", "version", name, None,
                 description=f"{packages.code_sha[:12]} {desired.settings_digest()[:12]}")
    alias = observed.alias
    if alias is None:
        out.call("create_alias", "alias", ALIAS, None, function=name, version=target_version)
    elif canary is not None:
        if target_version != alias["version"]:
            out.call("update_alias", "version", ALIAS, alias["arn"], function=name,
                     version=alias["version"], canary_version=target_version,
                     weight=round(canary / 100, 4))
            out.wait("alarms_quiet", "alias", ALIAS, desired.canary_watch_s + 60,
                     function=name, alarms=sorted(desired.alarms),
                     watch_s=desired.canary_watch_s, stable_version=alias["version"])
    elif target_version is None or alias["version"] != target_version or alias["weights"]:
        out.call("update_alias", "version", ALIAS, alias["arn"], function=name,
                 version=target_version, weight=None)
    if full:
        _url(out, desired, observed)
        for alarm, spec in desired.alarms.items():
            have = {k: v for k, v in observed.alarms.get(alarm, {}).items() if k != "state"}
            if have != _alarm_compare(spec):
                out.call("put_metric_alarm", "alarm", alarm, None, **spec)
    return []


def _url(out: _Steps, desired: AwsDesired, observed: AwsObserved) -> None:
    name = desired.function_name
    if desired.url is None:
        if observed.url is not None:
            out.call("delete_function_url_config", "url", name, observed.url["url"],
                     qualifier=ALIAS)
        return
    if observed.url is None:
        out.call("create_function_url_config", "url", name, None, qualifier=ALIAS,
                 auth=desired.url["auth"], cors=desired.url["cors"])
        if desired.url["auth"] == "NONE":
            out.call("add_permission", "url_permission", name, None, qualifier=ALIAS,
                     statement_id="fastfn-function-url-public")
        return
    if observed.url["auth"] != desired.url["auth"] or observed.url["cors"] != desired.url[
            "cors"]:
        out.call("update_function_url_config", "url", name, observed.url["url"],
                 qualifier=ALIAS, auth=desired.url["auth"], cors=desired.url["cors"])
        if desired.url["auth"] == "NONE" and observed.url["auth"] != "NONE":
            out.call("add_permission", "url_permission", name, None, qualifier=ALIAS,
                     statement_id="fastfn-function-url-public")


def _rollback(out: _Steps, desired: AwsDesired, observed: AwsObserved,
              artifact: Artifact | None) -> list[str]:
    version = (artifact.refs if artifact else {}).get("version")
    if observed.alias is None:
        return [f"{desired.function_name} has no {ALIAS} alias to move back"]
    if not version:
        return ["the previous deploy recorded no Lambda version to go back to"]
    if version not in {v.version for v in observed.versions}:
        return [f"version {version} of {desired.function_name} no longer exists"]
    if observed.alias["version"] != version or observed.alias["weights"]:
        out.call("update_alias", "version", ALIAS, observed.alias["arn"],
                 function=desired.function_name, version=version, weight=None)
    return []


def _promote(out: _Steps, desired: AwsDesired, observed: AwsObserved) -> list[str]:
    alias = observed.alias
    if alias is None or not alias["weights"]:
        return [f"no canary is running on {desired.function_name}: nothing to promote"]
    (version,) = alias["weights"]
    out.call("update_alias", "version", ALIAS, alias["arn"], function=desired.function_name,
             version=version, weight=None)
    return []


def _destroy(out: _Steps, desired: AwsDesired, observed: AwsObserved) -> None:
    name = desired.function_name
    if observed.url is not None:
        out.call("delete_function_url_config", "url", name, observed.url["url"],
                 qualifier=ALIAS)
    if observed.function is not None:
        out.call("delete_function", "function", name, observed.function_arn)
    if observed.alarms:
        out.call("delete_alarms", "alarm", ",".join(sorted(observed.alarms)), None,
                 names=sorted(observed.alarms))
    if observed.log_group is not None:
        out.call("delete_log_group", "log_group", desired.log_group, None)
    if observed.role is not None:
        if observed.role["policy"] is not None:
            out.call("delete_role_policy", "role_policy", desired.role_name, None,
                     policy_name=POLICY_NAME)
        out.call("delete_role", "role", desired.role_name, observed.role["arn"])
    for layer in observed.layers:
        out.call("delete_layer_version", "layer", desired.layer_name, layer["arn"],
                 version=layer["version"])
    if observed.objects:
        out.call("delete_objects", "packages", desired.prefix, None, bucket=desired.bucket,
                 keys=sorted(observed.objects))
