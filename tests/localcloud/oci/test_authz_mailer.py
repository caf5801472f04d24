"""The mailer's three least-privilege statements (examples/usage-report-mailer/setup.yaml)
in force on a local cloud that enforces policies: the mailer works with exactly them, and
with any one removed it fails in that statement's category, with OCI's own denial."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

from support.mailer import BUCKET, PASSWORD, SMTPServer, deploy, gzip_report, object_event
from support.waiting import wait_for

# What the Functions service itself needs to pull the image and use the subnet.
TENANCY = """
tenancy: {name: acme}
policies:
  - name: functions-service
    statements:
      - Allow service faas to read repos in tenancy
      - Allow service faas to use virtual-network-family in tenancy
"""
NO_RETRY = oci.retry.NoneRetryStrategy()
pytestmark = pytest.mark.slow  # each deploys and runs the mailer (~5 s)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text(TENANCY)
    with LocalCloud(tmp_path / "state", tenancy_file=tenancy,
                    event_retry_delays=(0.2, 0.4)) as running:
        yield running


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    with SMTPServer(tmp_path / "smtp") as server:
        yield server


def invoke(cloud: LocalCloud, fn_id: str, event: dict[str, Any]) -> tuple[int, Any]:
    client = oci.functions.FunctionsInvokeClient(cloud.config, service_endpoint=cloud.endpoint)
    response = client.invoke_function(fn_id, invoke_function_body=json.dumps(event).encode(),
                                      fn_intent="cloudevent", retry_strategy=NO_RETRY)
    return int(response.headers["Fn-Http-Status"]), response.data.json()


def keep_statements(cloud: LocalCloud, applied: Any, keep: list[str]) -> None:
    identity = cloud.client(oci.identity.IdentityClient)
    policy = next(p for p in identity.list_policies(cloud.compartment_id).data
                  if p.name == applied.policy["name"])
    identity.update_policy(policy.id, oci.identity.models.UpdatePolicyDetails(
        statements=keep))


def test_the_mailer_works_with_exactly_its_three_statements(cloud: LocalCloud,
                                                            smtp: SMTPServer) -> None:
    applied = deploy(cloud, smtp)
    assert len(applied.policy["statements"]) == 3
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    storage.put_object(cloud.namespace, BUCKET, "nov.csv.gz", gzip_report())
    deliveries = wait_for(lambda: [d for d in cloud.event_deliveries()
                                   if d["state"] != "PENDING"])
    assert [d["state"] for d in deliveries] == ["DELIVERED"]
    wait_for(lambda: len(smtp.messages) == 1)
    attached = [p.get_filename() for p in smtp.messages[0].message().iter_attachments()]
    assert attached == ["nov.csv.gz"]


@pytest.mark.parametrize(("removed", "category", "words"), [
    (0, "StorageError", "not found in bucket"),  # the report cannot be read
    # OCI answers BucketNotFound, which the mailer (rightly) cannot tell from a missing bucket
    (1, "StorageError", "state bucket does not exist"),  # no claim marker written
    (2, "VaultError", "NotAuthorizedOrNotFound (HTTP 404)"),  # no secret, OCI's 404
])
def test_each_statement_removed_fails_in_its_category(cloud: LocalCloud, smtp: SMTPServer,
                                                     removed: int, category: str,
                                                     words: str) -> None:
    applied = deploy(cloud, smtp)
    statements = applied.policy["statements"]
    keep_statements(cloud, applied, statements[:removed] + statements[removed + 1:])
    # Invoked directly below, so the upload's own event must not race it.
    cloud.client(oci.events.EventsClient).update_rule(
        applied.rule_id, oci.events.models.UpdateRuleDetails(is_enabled=False))
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    name = f"r-{uuid.uuid4().hex[:8]}.csv.gz"
    etag = storage.put_object(cloud.namespace, BUCKET, name, gzip_report()).headers["etag"]
    status, body = invoke(cloud, applied.function_id,
                          object_event(cloud.namespace, BUCKET, name, etag,
                                       compartment_id=cloud.compartment_id))
    assert body["category"] == category, body
    assert words in body["message"]
    assert status >= 400
    assert PASSWORD not in json.dumps(body)
    assert smtp.messages == []


def test_a_function_without_read_secret_bundles_gets_ocis_error(cloud: LocalCloud,
                                                               smtp: SMTPServer) -> None:
    # The same call the function makes, signed as the function (its resource principal):
    # a 404 NotAuthorizedOrNotFound, never the value.
    applied = deploy(cloud, smtp)
    services = cloud.services
    assert services is not None
    fn = services.store.get("fn_function", applied.function_id)
    keep_statements(cloud, applied, applied.policy["statements"][:2])
    env = services.functions.principals.environment(fn)
    signer = oci.auth.signers.EphemeralResourcePrincipalSigner(
        session_token=Path(env["OCI_RESOURCE_PRINCIPAL_RPST"]).read_text(),
        private_key=Path(env["OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"]).read_text())
    secrets = oci.secrets.SecretsClient({"region": cloud.region}, signer=signer,
                                        service_endpoint=cloud.endpoint)
    secret_id = applied.secrets["SMTP_PASSWORD_SECRET_OCID"]
    with pytest.raises(oci.exceptions.ServiceError) as info:
        secrets.get_secret_bundle(secret_id, retry_strategy=NO_RETRY)
    assert (info.value.status, info.value.code, info.value.message) == (
        404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.")
    # With the statement back, the same principal reads it.
    keep_statements(cloud, applied, applied.policy["statements"])
    bundle = secrets.get_secret_bundle(secret_id, retry_strategy=NO_RETRY).data
    assert bundle.secret_bundle_content.content
