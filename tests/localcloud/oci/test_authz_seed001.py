"""Seed 001's blocker reproduced: its recorded tenancy (examples/items/seed001-tenancy.yaml)
loaded into the local cloud, postgres-inserter deployed as CI did (image pushed to the
repository a first push created in the root compartment), the invoke failing with 502
FunctionInvokeImageNotAvailable; then exactly the fix (one policy statement) and the same
invoke inserting the row. The other causes of the same error come from the network."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import psycopg
import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.server import CloudServices
from fastfn.localcloud.postgres import DatabaseLogin

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
    """The example's own script (examples/items/seed001.py), as a user runs it."""
    spec = importlib.util.spec_from_file_location("items_seed001", EXAMPLES / "items" /
                                                  "seed001.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.deploy(cloud.config, cloud.endpoint, cloud.images, cloud.namespace,
                         cloud.vault_id, items_db.dsn)


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
