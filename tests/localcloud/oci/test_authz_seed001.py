"""Seed 001's blocker reproduced: its recorded tenancy (examples/items/seed001-tenancy.yaml)
loaded into the local cloud, postgres-inserter deployed as CI did (image pushed to the
repository a first push created in the root compartment), the invoke failing with 502
FunctionInvokeImageNotAvailable; then exactly the fix (one policy statement) and the same
invoke inserting the row. The other causes of the same error come from the network."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import psycopg
import pytest
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
)
from oci.vault.models import Base64SecretContentDetails, CreateSecretDetails

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.server import CloudServices
from fastfn.localcloud.postgres import DatabaseLogin
from fastfn.manifest import load

from support.items import EXAMPLES

SEED_TENANCY = EXAMPLES / "items" / "seed001-tenancy.yaml"
FIX = "Allow service faas to read repos in tenancy"
NO_RETRY = oci.retry.NoneRetryStrategy()


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    state = Path(tempfile.mkdtemp(prefix="fastfn-seed001-"))
    try:
        with LocalCloud(state, tenancy_file=SEED_TENANCY) as running:
            yield running
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _deploy(cloud: LocalCloud, items_db: DatabaseLogin) -> Any:
    identity = cloud.client(oci.identity.IdentityClient)
    sandbox = next(c for c in identity.list_compartments(cloud.tenancy_id).data
                   if c.name == "Sandbox")
    network = cloud.client(oci.core.VirtualNetworkClient)
    subnet = next(s for s in network.list_subnets(sandbox.id).data if s.display_name == "private")
    secret = cloud.client(oci.vault.VaultsClient).create_secret(CreateSecretDetails(
        compartment_id=sandbox.id, vault_id=cloud.vault_id, key_id="ocid1.key.oc1..local",
        secret_name="items-dsn", secret_content=Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(items_db.dsn.encode()).decode()),
    )).data
    service = EXAMPLES / "items"
    settings = load(service).resolve()
    config = settings.function_config()
    config["DATABASE_URL"] = f"vault:{secret.id}"
    image = f"fra.ocir.io/{cloud.namespace}/hello-world-app/postgres-inserter:0a1b2c3"
    cloud.images.put(image, service, settings.app)  # CI's build and push
    management = cloud.client(oci.functions.FunctionsManagementClient)
    app = management.create_application(CreateApplicationDetails(
        compartment_id=sandbox.id, display_name="hello-world-app",
        subnet_ids=[subnet.id])).data
    return management.create_function(CreateFunctionDetails(
        display_name="postgres-inserter", application_id=app.id, memory_in_mbs=512,
        timeout_in_seconds=60, config=config,
        source_details=CreateContainerImageFunctionSourceDetails(image=image))).data


def _invoke(cloud: LocalCloud, function: Any) -> Any:
    client = oci.functions.FunctionsInvokeClient(cloud.config,
                                                 service_endpoint=function.invoke_endpoint)
    return client.invoke_function(function.id, invoke_function_body=json.dumps(
        {"name": "Test", "description": "Test"}), retry_strategy=NO_RETRY)


@pytest.mark.slow
def test_seed_001_invoke_fails_as_recorded_then_the_fix_makes_it_work(
        cloud: LocalCloud, items_db: DatabaseLogin) -> None:
    with psycopg.connect(items_db.dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('items') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
            conn.execute("TRUNCATE items, item_idempotency_keys RESTART IDENTITY")
    function = _deploy(cloud, items_db)

    with pytest.raises(oci.exceptions.ServiceError) as info:
        _invoke(cloud, function)
    assert (info.value.status, info.value.code, info.value.message) == (
        502, "FunctionInvokeImageNotAvailable", "Failed to pull function image")

    # Exactly the fix: one statement added to the root policy.
    identity = cloud.client(oci.identity.IdentityClient)
    policy = next(p for p in identity.list_policies(cloud.tenancy_id).data
                  if p.name == "Tenancy-Wide-Service-Policies")
    identity.update_policy(policy.id, oci.identity.models.UpdatePolicyDetails(
        statements=[*policy.statements, FIX]))

    response = _invoke(cloud, function)
    assert (response.status, response.headers["Fn-Http-Status"]) == (200, "201")
    created = response.data.json()
    with psycopg.connect(items_db.dsn) as conn:
        rows = conn.execute("SELECT id, name FROM items").fetchall()
    assert rows == [(created["id"], "Test")]


# -- the network causes of the same error, from the tenancy alone ---------------------------

def _services(tmp_path: Path, text: str) -> CloudServices:
    path = tmp_path / "tenancy.yaml"
    path.write_text(text)
    return CloudServices(tmp_path / "state", tenancy_file=path)


def _pull(services: CloudServices) -> Any:
    subnet = next(s for s in services.tenancy.by_kind["subnet"]
                  if s["displayName"] == "private")
    fn = {"id": "ocid1.fnfunc.oc1.eu-frankfurt-1.x", "compartmentId": subnet["compartmentId"],
          "sourceDetails": {"image": "fra.ocir.io/ns/hello-world-app/postgres-inserter:1"}}
    app = {"id": "ocid1.fnapp.oc1.eu-frankfurt-1.x", "subnetIds": [subnet["id"]]}
    check = services.functions.pull_check
    assert check is not None
    return check(fn, app)


def _seed(*, drop: str = "", add: str = "") -> str:
    text = SEED_TENANCY.read_text().replace(drop, "") if drop else SEED_TENANCY.read_text()
    return text.replace(
        "      - Allow service faas to use virtual-network-family in compartment Sandbox\n",
        "      - Allow service faas to use virtual-network-family in compartment Sandbox\n"
        f"      - {FIX}\n" + add)


ROUTE = """          - {destination: all-fra-services-in-oracle-services-network,
             destination_type: SERVICE_CIDR_BLOCK, target: sandbox-sgw}
"""


@pytest.mark.parametrize(("change", "code"), [
    ({}, None),  # the seed with the fix: nothing in the way
    ({"drop": ROUTE}, "FunctionInvokeImageNotAvailable"),  # no route to the gateway
    ({"drop": "{destination: 0.0.0.0/0, protocol: all, is_stateless: false}"},
     "FunctionInvokeImageNotAvailable"),  # no egress rule
    ({"drop": "      - Allow service faas to use virtual-network-family in compartment "
               "Sandbox\n"}, "FunctionInvokeSubnetNotAvailable"),  # may not use the subnet
])
def test_each_cause_of_a_failed_pull(tmp_path: Path, change: dict[str, str],
                                     code: str | None) -> None:
    services = _services(tmp_path, _seed(**change))
    try:
        failure = _pull(services)
        assert (failure.code if failure else None) == code
    finally:
        services.close()


def test_a_gateway_for_object_storage_only_is_not_enough(tmp_path: Path) -> None:
    text = _seed().replace("services: [all-fra-services-in-oracle-services-network]",
                           "services: [oci-fra-objectstorage]")
    services = _services(tmp_path, text)
    try:
        failure = _pull(services)
        assert failure is not None and failure.code == "FunctionInvokeImageNotAvailable"
        subnet = next(s for s in services.tenancy.by_kind["subnet"]
                      if s["displayName"] == "private")
        assert "service gateway" in (services.functions.pull_check.network_cause(  # type: ignore[union-attr]
            subnet) or "")
    finally:
        services.close()
