"""Apply setup.yaml to the local OCI cloud with the real oci SDK: seed 003's eight scripts.

    .venv/bin/fastfn cloud up --state-dir .fastfn/cloud &          # the local cloud
    SMTP_USERNAME=... SMTP_PASSWORD=... .venv/bin/python \\
        examples/usage-report-mailer/setup_local.py --state-dir .fastfn/cloud \\
        --set SMTP_SERVER=127.0.0.1 --set SMTP_PORT=8587 --set SMTP_CA_FILE=/path/ca.pem \\
        --test-send report.csv.gz

Idempotent: what exists (by name) is updated, not created twice. The image is this
directory, pushed to the cloud's image store. The dynamic group and the least-privilege
policy are created through the Identity API (in force when the cloud enforces policies,
i.e. runs with a tenancy file). What was applied (ids, and the IAM policy statements with
the ids filled in) is written to <state-dir>/usage-report-mailer.json.
Tests and the bench call `apply()` on an in-process LocalCloud.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import oci
import yaml
from oci.events.models import (
    ActionDetailsList,
    CreateFaaSActionDetails,
    CreateRuleDetails,
    UpdateRuleDetails,
)
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
    UpdateContainerImageFunctionSourceDetails,
    UpdateFunctionDetails,
)

from fastfn.localcloud.oci.images import ImageStore
from fastfn.manifest import load

HERE = Path(__file__).resolve().parent
RECORD = "usage-report-mailer.json"


@dataclass
class Target:
    """Where to apply: what an in-process LocalCloud or a running `fastfn cloud up` has."""

    config: dict[str, Any]
    endpoint: str
    images: ImageStore
    compartment_id: str
    namespace: str
    vault_id: str
    region: str
    subnet_id: str
    state_dir: Path

    def client(self, kind: type[Any]) -> Any:
        return kind(self.config, service_endpoint=self.endpoint)

    @classmethod
    def from_cloud(cls, cloud: Any) -> Target:
        return cls(cloud.config, cloud.endpoint, cloud.images, cloud.compartment_id,
                   cloud.namespace, cloud.vault_id, cloud.region, cloud.subnet_id,
                   cloud.state_dir)

    @classmethod
    def from_state_dir(cls, state_dir: Path) -> Target:
        from fastfn.localcloud.oci.context import CloudIdentity

        running = state_dir / "run" / "endpoint.json"
        if not running.exists():  # 01 prerequisites
            raise SystemExit(f"no local cloud runs on {state_dir}: start `fastfn cloud up "
                             f"--state-dir {state_dir}` first")
        endpoint = json.loads(running.read_text())["endpoint"]
        identity = CloudIdentity.load_or_create(state_dir)
        config = oci.config.from_file(str(state_dir / "oci" / "config"))
        network = oci.core.VirtualNetworkClient(config, service_endpoint=endpoint)
        subnets = network.list_subnets(identity.compartment_id).data
        subnet = next(s.id for s in subnets if s.display_name == "local-subnet")
        return cls(config, endpoint, ImageStore.open(state_dir), identity.compartment_id,
                   identity.namespace, identity.vault_id, identity.region, subnet, state_dir)


@dataclass
class Applied:
    function_id: str = ""
    application_id: str = ""
    rule_id: str = ""
    image_digest: str = ""
    secrets: dict[str, str] = field(default_factory=dict)  # config key -> secret OCID
    buckets: list[str] = field(default_factory=list)
    dynamic_group: dict[str, str] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)


def load_spec(path: Path = HERE / "setup.yaml") -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text()))


def _buckets(target: Target, spec: dict[str, Any]) -> list[str]:
    storage = target.client(oci.object_storage.ObjectStorageClient)
    names = []
    for bucket in spec["buckets"]:
        events = bool(bucket.get("object_events_enabled", False))
        try:
            storage.get_bucket(target.namespace, bucket["name"])
            storage.update_bucket(target.namespace, bucket["name"],
                                  oci.object_storage.models.UpdateBucketDetails(
                                      object_events_enabled=events))
        except oci.exceptions.ServiceError as exc:
            if exc.status != 404:
                raise
            storage.create_bucket(target.namespace, oci.object_storage.models.CreateBucketDetails(
                name=bucket["name"], compartment_id=target.compartment_id,
                object_events_enabled=events))
        names.append(bucket["name"])
    return names


def _vault_key(target: Target) -> str:
    """The vault's AES key, found as on OCI: the vault names its management endpoint."""
    vault = target.client(oci.key_management.KmsVaultClient).get_vault(target.vault_id).data
    keys = oci.key_management.KmsManagementClient(
        target.config, service_endpoint=vault.management_endpoint).list_keys(
        vault.compartment_id).data
    return next(k.id for k in keys if k.vault_id == target.vault_id and k.algorithm == "AES")


def _secrets(target: Target, spec: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    vaults = target.client(oci.vault.VaultsClient)
    existing = {s.secret_name: s for s in vaults.list_secrets(
        target.compartment_id, vault_id=target.vault_id).data
        if s.lifecycle_state == "ACTIVE"}
    ids = {}
    for key, secret in spec["secrets"].items():
        source = secret["value_from_env"]
        value = values.get(source, os.environ.get(source))
        if value is None:
            raise SystemExit(f"set {source} (the value of Vault secret {secret['name']})")
        content = oci.vault.models.Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(value.encode()).decode())
        if secret["name"] in existing:
            found = existing[secret["name"]]
            vaults.update_secret(found.id, oci.vault.models.UpdateSecretDetails(
                secret_content=content))
            ids[key] = found.id
        else:
            ids[key] = vaults.create_secret(oci.vault.models.CreateSecretDetails(
                compartment_id=target.compartment_id, vault_id=target.vault_id,
                secret_name=secret["name"], key_id=_vault_key(target),
                secret_content=content)).data.id
    return ids


def _function(target: Target, spec: dict[str, Any], config: dict[str, str],
              applied: Applied) -> None:
    manifest = load(HERE).resolve()
    image = f"{target.region}.ocir.io/{target.namespace}/{spec['image']}:local"
    applied.image_digest = target.images.put(image, HERE, manifest.app)
    management = target.client(oci.functions.FunctionsManagementClient)
    apps = management.list_applications(target.compartment_id,
                                        display_name=spec["application"]).data
    if apps:
        applied.application_id = apps[0].id
    else:
        applied.application_id = management.create_application(CreateApplicationDetails(
            compartment_id=target.compartment_id, display_name=spec["application"],
            subnet_ids=[target.subnet_id], shape=manifest.shape)).data.id
    fns = management.list_functions(applied.application_id,
                                    display_name=spec["function"]).data
    if fns:
        applied.function_id = fns[0].id
        management.update_function(applied.function_id, UpdateFunctionDetails(
            source_details=UpdateContainerImageFunctionSourceDetails(
                image=image, image_digest=applied.image_digest),
            memory_in_mbs=manifest.memory, timeout_in_seconds=manifest.timeout,
            config=config))
    else:
        applied.function_id = management.create_function(CreateFunctionDetails(
            display_name=spec["function"], application_id=applied.application_id,
            source_details=CreateContainerImageFunctionSourceDetails(
                image=image, image_digest=applied.image_digest),
            memory_in_mbs=manifest.memory, timeout_in_seconds=manifest.timeout,
            config=config)).data.id


def _rule(target: Target, spec: dict[str, Any], function_id: str) -> str:
    rule = spec["rule"]
    condition = json.dumps({"eventType": rule["event_types"],
                            "data": {"additionalDetails": {"bucketName": [rule["bucket"]]}}})
    actions = ActionDetailsList(actions=[CreateFaaSActionDetails(
        action_type="FAAS", is_enabled=True, function_id=function_id)])
    events = target.client(oci.events.EventsClient)
    found = events.list_rules(target.compartment_id, display_name=rule["name"]).data
    if found:
        events.update_rule(found[0].id, UpdateRuleDetails(
            condition=condition, is_enabled=True, actions=actions))
        return str(found[0].id)
    return str(events.create_rule(CreateRuleDetails(
        display_name=rule["name"], is_enabled=True, condition=condition,
        compartment_id=target.compartment_id, actions=actions)).data.id)


def _fill(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], " ".join(text.split()))


def _iam(target: Target, group: dict[str, str], policy: dict[str, Any]) -> None:
    """07: the dynamic group (in the tenancy) and the policy (in the function's compartment)."""
    from oci.identity.models import (
        CreateDynamicGroupDetails,
        CreatePolicyDetails,
        UpdateDynamicGroupDetails,
        UpdatePolicyDetails,
    )

    identity = target.client(oci.identity.IdentityClient)
    tenancy = target.config["tenancy"]
    groups = [g for g in identity.list_dynamic_groups(tenancy).data if g.name == group["name"]]
    if groups:
        identity.update_dynamic_group(groups[0].id, UpdateDynamicGroupDetails(
            matching_rule=group["matching_rule"], description=group["name"]))
    else:
        identity.create_dynamic_group(CreateDynamicGroupDetails(
            compartment_id=tenancy, name=group["name"], description=group["name"],
            matching_rule=group["matching_rule"]))
    found = [p for p in identity.list_policies(target.compartment_id).data
             if p.name == policy["name"]]
    if found:
        identity.update_policy(found[0].id, UpdatePolicyDetails(
            statements=policy["statements"], description=policy["name"]))
    else:
        identity.create_policy(CreatePolicyDetails(
            compartment_id=target.compartment_id, name=policy["name"],
            description=policy["name"], statements=policy["statements"]))


def apply(target: Target, spec: dict[str, Any] | None = None,
          overrides: dict[str, str] | None = None,
          secret_values: dict[str, str] | None = None) -> Applied:
    """Create or update everything setup.yaml describes; returns what was applied."""
    spec = spec or load_spec()
    applied = Applied()
    applied.buckets = _buckets(target, spec)
    applied.secrets = _secrets(target, spec, secret_values or {})
    config = load(HERE).resolve().function_config()
    config.update(NAMESPACE=target.namespace, REGION=target.region)
    config.update({key: f"vault:{ocid}" for key, ocid in applied.secrets.items()})
    config.update(overrides or {})
    _function(target, spec, config, applied)
    applied.rule_id = _rule(target, spec, applied.function_id)
    values = {"function_id": applied.function_id, "compartment_id": target.compartment_id,
              **{f"secret:{k}": v for k, v in applied.secrets.items()}}
    group = spec["iam"]["dynamic_group"]
    applied.dynamic_group = {"name": group["name"],
                             "matching_rule": _fill(group["matching_rule"], values)}
    policy = spec["iam"]["policy"]
    applied.policy = {"name": policy["name"],
                      "statements": [_fill(s, values) for s in policy["statements"]]}
    _iam(target, applied.dynamic_group, applied.policy)
    record = target.state_dir / RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(applied.__dict__, indent=2) + "\n")
    return applied


def test_send(target: Target, spec: dict[str, Any], report: Path,
              timeout: float = 60.0) -> dict[str, Any]:
    """06: upload a report and wait until its event has been delivered (or failed)."""
    from fastfn.localcloud.oci import event_deliveries

    storage = target.client(oci.object_storage.ObjectStorageClient)
    before = {d["id"] for d in event_deliveries(target.state_dir)}
    storage.put_object(target.namespace, spec["rule"]["bucket"], report.name,
                       report.read_bytes())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [d for d in event_deliveries(target.state_dir)
                if d["id"] not in before and d["state"] != "PENDING"]
        if done:
            return done[0]
        time.sleep(0.2)
    raise SystemExit("no delivery finished in time; see `fastfn cloud events`")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".fastfn") / "cloud")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="function config for this cloud (e.g. SMTP_SERVER=127.0.0.1)")
    parser.add_argument("--test-send", type=Path, metavar="REPORT",
                        help="upload this .csv.gz after setup and wait for its delivery")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    target = Target.from_state_dir(args.state_dir)
    spec = load_spec()
    applied = apply(target, spec, overrides)
    print(json.dumps(applied.__dict__, indent=2))
    if args.test_send:
        print(json.dumps(test_send(target, spec, args.test_send), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
