"""Seed 001 as the user meant it to run: the items function deployed through the Functions
API, its DSN in Vault as a `vault:` reference resolved with the function's resource
principal, invoked like `oci fn function invoke` (a body, no method, no path), and the row
found with the seed's verification query. Every call goes through the real oci SDK."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
from fastfn.localcloud.postgres import DatabaseLogin
from fastfn.manifest import load

from support.items import EXAMPLES

IMAGE = "fra.ocir.io/fastfnlocal/sandbox/postgres-inserter:1"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    state = Path(tempfile.mkdtemp(prefix="fastfn-items-cloud-"))
    try:
        with LocalCloud(state) as running:
            yield running
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_items_function_reads_its_dsn_from_vault_and_inserts(cloud: LocalCloud,
                                                            items_db: DatabaseLogin):
    with psycopg.connect(items_db.dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('items') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
            conn.execute("TRUNCATE items, item_idempotency_keys RESTART IDENTITY")
    vaults = cloud.client(oci.vault.VaultsClient)
    secret = vaults.create_secret(CreateSecretDetails(
        compartment_id=cloud.compartment_id, vault_id=cloud.vault_id,
        key_id=cloud.key_id, secret_name="items-dsn",
        secret_content=Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(items_db.dsn.encode()).decode()),
    )).data

    service = EXAMPLES / "items"
    fn_settings = load(service).resolve()
    config = fn_settings.function_config()
    config["DATABASE_URL"] = f"vault:{secret.id}"  # a reference; the value stays in Vault
    digest = cloud.images.put(IMAGE, service, fn_settings.app)
    management = cloud.client(oci.functions.FunctionsManagementClient)
    application = management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="sandbox",
        subnet_ids=[cloud.subnet_id])).data
    function = management.create_function(CreateFunctionDetails(
        display_name="postgres-inserter", application_id=application.id,
        memory_in_mbs=fn_settings.memory, timeout_in_seconds=fn_settings.timeout,
        config=config,
        source_details=CreateContainerImageFunctionSourceDetails(image=IMAGE))).data
    assert function.source_details.image_digest == digest
    assert items_db.password not in json.dumps(function.config)

    invoke = oci.functions.FunctionsInvokeClient(cloud.config,
                                                 service_endpoint=function.invoke_endpoint)
    response = invoke.invoke_function(
        function.id, invoke_function_body=json.dumps({"name": "Test", "description": "Test"}))
    assert response.status == 200
    assert response.headers["Fn-Http-Status"] == "201"
    created = response.data.json()
    assert created["name"] == "Test"

    with psycopg.connect(items_db.dsn) as conn:
        rows = conn.execute("SELECT * FROM items").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(created["id"], "Test", "Test")]
