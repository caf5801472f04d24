"""Vault secrets and secret bundles through the real oci SDK."""

from __future__ import annotations

import base64

import oci
import pytest
from oci.vault.models import Base64SecretContentDetails, CreateSecretDetails, UpdateSecretDetails

from fastfn.localcloud.oci import LocalCloud


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def content(bundle: oci.secrets.models.SecretBundle) -> str:
    return base64.b64decode(bundle.secret_bundle_content.content).decode()


def no_retry() -> oci.retry.NoneRetryStrategy:
    return oci.retry.NoneRetryStrategy()


@pytest.fixture
def clients(cloud: LocalCloud) -> tuple[oci.vault.VaultsClient, oci.secrets.SecretsClient]:
    return cloud.client(oci.vault.VaultsClient), cloud.client(oci.secrets.SecretsClient)


def create(cloud: LocalCloud, vaults: oci.vault.VaultsClient, secret_name: str, value: str,
           **kw: object) -> oci.vault.models.Secret:
    return vaults.create_secret(CreateSecretDetails(
        compartment_id=cloud.compartment_id, vault_id=cloud.vault_id, secret_name=secret_name,
        key_id=cloud.key_id,
        secret_content=Base64SecretContentDetails(content_type="BASE64", content=b64(value),
                                                  **kw))).data


def test_versions_and_stages(cloud: LocalCloud, clients) -> None:  # type: ignore[no-untyped-def]
    vaults, secrets = clients
    secret = create(cloud, vaults, "db-password", "first", name="v-one")
    assert isinstance(secret, oci.vault.models.Secret)
    assert (secret.lifecycle_state, secret.current_version_number) == ("ACTIVE", 1)

    bundle = secrets.get_secret_bundle(secret.id).data
    assert isinstance(bundle, oci.secrets.models.SecretBundle)
    assert content(bundle) == "first"
    assert bundle.secret_bundle_content.content_type == "BASE64"
    assert set(bundle.stages) == {"CURRENT", "LATEST"}

    updated = vaults.update_secret(secret.id, UpdateSecretDetails(
        secret_content=Base64SecretContentDetails(content_type="BASE64",
                                                  content=b64("second")))).data
    assert updated.current_version_number == 2
    assert content(secrets.get_secret_bundle(secret.id).data) == "second"
    previous = secrets.get_secret_bundle(secret.id, stage="PREVIOUS").data
    assert (content(previous), previous.version_number) == ("first", 1)
    assert content(secrets.get_secret_bundle(secret.id, version_number=1).data) == "first"
    assert content(secrets.get_secret_bundle(secret.id, secret_version_name="v-one").data) \
        == "first"

    # A PENDING version does not change what readers get until it is promoted.
    vaults.update_secret(secret.id, UpdateSecretDetails(
        secret_content=Base64SecretContentDetails(content_type="BASE64", content=b64("third"),
                                                  stage="PENDING")))
    assert content(secrets.get_secret_bundle(secret.id).data) == "second"
    assert content(secrets.get_secret_bundle(secret.id, stage="PENDING").data) == "third"
    vaults.update_secret(secret.id, UpdateSecretDetails(current_version_number=3))
    assert content(secrets.get_secret_bundle(secret.id).data) == "third"
    assert content(secrets.get_secret_bundle(secret.id, stage="PREVIOUS").data) == "second"

    versions = vaults.list_secret_versions(secret.id).data
    assert sorted(v.version_number for v in versions) == [1, 2, 3]
    assert all(isinstance(v, oci.vault.models.SecretVersionSummary) for v in versions)


def test_bundle_by_name(cloud: LocalCloud, clients) -> None:  # type: ignore[no-untyped-def]
    vaults, secrets = clients
    create(cloud, vaults, "smtp-user", "mailer")
    bundle = secrets.get_secret_bundle_by_name(secret_name="smtp-user",
                                               vault_id=cloud.vault_id).data
    assert content(bundle) == "mailer"
    with pytest.raises(oci.exceptions.ServiceError) as info:
        secrets.get_secret_bundle_by_name(secret_name="missing", vault_id=cloud.vault_id,
                                          retry_strategy=no_retry())
    assert (info.value.status, info.value.code) == (404, "NotAuthorizedOrNotFound")


def test_list_and_errors(cloud: LocalCloud, clients) -> None:  # type: ignore[no-untyped-def]
    vaults, secrets = clients
    for name in ("a", "b", "c"):
        create(cloud, vaults, name, name)
    listed = oci.pagination.list_call_get_all_results(
        vaults.list_secrets, cloud.compartment_id, limit=2, sort_by="NAME").data
    assert [s.secret_name for s in listed] == ["a", "b", "c"]
    assert vaults.list_secrets(cloud.compartment_id, name="b").data[0].secret_name == "b"

    with pytest.raises(oci.exceptions.ServiceError) as info:
        create(cloud, vaults, "a", "again")
    assert (info.value.status, info.value.code) == (409, "Conflict")
    with pytest.raises(oci.exceptions.ServiceError) as info:
        vaults.create_secret(CreateSecretDetails(
            compartment_id=cloud.compartment_id, vault_id=cloud.vault_id, secret_name="x",
            key_id=cloud.key_id,
            secret_content=Base64SecretContentDetails(content_type="BASE64",
                                                      content="not base64!")),
            retry_strategy=no_retry())
    assert (info.value.status, info.value.code) == (400, "InvalidParameter")
    with pytest.raises(oci.exceptions.ServiceError) as info:
        secrets.get_secret_bundle("ocid1.vaultsecret.oc1..missing", retry_strategy=no_retry())
    assert info.value.status == 404
    assert info.value.request_id


def test_secret_values_never_reach_the_log(cloud: LocalCloud, clients,  # type: ignore[no-untyped-def]
                                           caplog: pytest.LogCaptureFixture) -> None:
    vaults, secrets = clients
    caplog.set_level("DEBUG")
    value = "s3cr3t-value-that-must-not-leak"
    secret = create(cloud, vaults, "leak-check", value)
    secrets.get_secret_bundle(secret.id)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert secret.id in logged  # the log did record the operation...
    assert value not in logged and b64(value) not in logged  # ...but not the value
