"""KMS vaults and keys, and the secrets that name them, with the real oci CLI and SDK."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path
from typing import Any

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud, config_text
from fastfn.localcloud.oci.identity import TenancyFileError

from support.oci_cli import cli, run

pytestmark = pytest.mark.slow

TENANCY = """
compartments:
  - {name: Sandbox}
vaults:
  - name: main
    compartment: Sandbox
    keys:
      - {name: secrets-key}
      - {name: signing-key, algorithm: RSA, length: 256, protection_mode: SOFTWARE}
  - {name: spare, compartment: Sandbox}
"""


def test_the_printed_vault_and_its_key_with_the_cli(cloud: LocalCloud) -> None:
    printed = dict(re.findall(r"^# (vault|key): +(\S+)$", config_text(cloud.state_dir),
                              re.MULTILINE))
    assert printed == {"vault": cloud.vault_id, "key": cloud.key_id}
    vault = run(cloud, "kms", "management", "vault", "get", "--vault-id", cloud.vault_id)["data"]
    assert (vault["id"], vault["lifecycle-state"], vault["vault-type"]) == \
        (cloud.vault_id, "ACTIVE", "DEFAULT")
    assert vault["compartment-id"] == cloud.compartment_id
    # Both endpoints are the local server, so `--endpoint <management-endpoint>` works as
    # on OCI (the helper passes exactly that endpoint to every command).
    assert vault["management-endpoint"] == vault["crypto-endpoint"] == cloud.endpoint
    listed = run(cloud, "kms", "management", "vault", "list", "--compartment-id",
                 cloud.compartment_id)["data"]
    assert [v["id"] for v in listed] == [cloud.vault_id]

    keys = run(cloud, "kms", "management", "key", "list", "--compartment-id",
               cloud.compartment_id)["data"]
    assert [(k["id"], k["vault-id"], k["algorithm"], k["lifecycle-state"]) for k in keys] == \
        [(cloud.key_id, cloud.vault_id, "AES", "ENABLED")]
    key = run(cloud, "kms", "management", "key", "get", "--key-id", cloud.key_id)["data"]
    assert key["key-shape"] == {"algorithm": "AES", "length": 32, "curve-id": None}
    assert key["current-key-version"].startswith("ocid1.keyversion.")
    versions = run(cloud, "kms", "management", "key-version", "list", "--key-id",
                   cloud.key_id)["data"]
    assert [v["id"] for v in versions] == [key["current-key-version"]]

    missing = cli(cloud, "kms", "management", "key", "get", "--key-id",
                  cloud.key_id[:-4] + "zzzz", check=False)
    assert missing.returncode != 0 and "NotAuthorizedOrNotFound" in missing.stderr
    no_vault = cli(cloud, "kms", "management", "vault", "get", "--vault-id",
                   "ocid1.vault.oc1.eu-frankfurt-1.nothere", check=False)
    assert no_vault.returncode != 0 and '"status": 404' in no_vault.stderr


def _args(cloud: LocalCloud, name: str, vault_id: str, key_id: str) -> tuple[str, ...]:
    return ("vault", "secret", "create-base64", "--compartment-id", cloud.compartment_id,
            "--vault-id", vault_id, "--key-id", key_id, "--secret-name", name,
            "--secret-content-content", base64.b64encode(b"hunter2").decode())


def _create(cloud: LocalCloud, name: str) -> dict[str, Any]:
    data: dict[str, Any] = run(cloud, *_args(cloud, name, cloud.vault_id, cloud.key_id))["data"]
    return data


def _refused(cloud: LocalCloud, vault_id: str, key_id: str) -> str:
    done = cli(cloud, *_args(cloud, "x", vault_id, key_id), check=False)
    assert done.returncode != 0
    return done.stderr


def test_secrets_need_the_vault_and_its_key(cloud: LocalCloud) -> None:
    bad_key = _refused(cloud, cloud.vault_id, "ocid1.key.oc1..local")
    assert '"status": 400' in bad_key and "keyId" in bad_key
    bad_vault = _refused(cloud, "ocid1.vault.oc1..nothere", cloud.key_id)
    assert '"status": 400' in bad_vault and "vaultId" in bad_vault
    assert "hunter2" not in bad_vault

    secret = _create(cloud, "db-password")
    assert (secret["key-id"], secret["vault-id"]) == (cloud.key_id, cloud.vault_id)

    run(cloud, "vault", "secret", "schedule-secret-deletion", "--secret-id", secret["id"])
    pending = run(cloud, "vault", "secret", "get", "--secret-id", secret["id"])["data"]
    assert pending["lifecycle-state"] == "PENDING_DELETION"
    assert pending["time-of-deletion"] is not None
    again = cli(cloud, "vault", "secret", "schedule-secret-deletion", "--secret-id",
                secret["id"], check=False)
    assert '"status": 409' in again.stderr

    run(cloud, "vault", "secret", "cancel-secret-deletion", "--secret-id", secret["id"])
    back = run(cloud, "vault", "secret", "get", "--secret-id", secret["id"])["data"]
    assert (back["lifecycle-state"], back.get("time-of-deletion")) == ("ACTIVE", None)
    twice = cli(cloud, "vault", "secret", "cancel-secret-deletion", "--secret-id",
                secret["id"], check=False)
    assert '"status": 409' in twice.stderr


def test_deletion_time_is_checked(cloud: LocalCloud) -> None:
    vaults = cloud.client(oci.vault.VaultsClient, retry_strategy=oci.retry.NoneRetryStrategy())
    secret = _create(cloud, "soon")
    schedule = oci.vault.models.ScheduleSecretDeletionDetails

    with pytest.raises(oci.exceptions.ServiceError) as err:
        vaults.schedule_secret_deletion(secret["id"], schedule(
            time_of_deletion=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)))
    assert err.value.status == 400 and "timeOfDeletion" in err.value.message
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    vaults.schedule_secret_deletion(secret["id"], schedule(time_of_deletion=when))
    got = vaults.get_secret(secret["id"]).data
    assert abs((got.time_of_deletion - when).total_seconds()) < 1


def test_tenancy_file_vaults_have_their_keys(tmp_path: Path) -> None:
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text(TENANCY)
    with LocalCloud(tmp_path / "state", tenancy_file=tenancy, enforce=False) as cloud:
        identity = cloud.client(oci.identity.IdentityClient)
        sandbox = next(c.id for c in identity.list_compartments(cloud.tenancy_id).data
                       if c.name == "Sandbox")
        kms_vaults = cloud.client(oci.key_management.KmsVaultClient)
        vaults = {v.display_name: v for v in kms_vaults.list_vaults(sandbox).data}
        assert sorted(vaults) == ["main", "spare"]
        main = kms_vaults.get_vault(vaults["main"].id).data
        assert isinstance(main, oci.key_management.models.Vault)
        assert (main.lifecycle_state, main.vault_type) == ("ACTIVE", "DEFAULT")
        management = oci.key_management.KmsManagementClient(
            cloud.config, service_endpoint=main.management_endpoint)
        keys = {k.display_name: k for k in management.list_keys(sandbox).data}
        # One endpoint serves every vault: the list holds the compartment's keys.
        assert sorted(keys) == ["secrets-key", "signing-key", "spare"]
        assert keys["spare"].vault_id == vaults["spare"].id
        assert keys["secrets-key"].vault_id == keys["signing-key"].vault_id == main.id
        signing = management.get_key(keys["signing-key"].id).data
        assert (signing.key_shape.algorithm, signing.protection_mode) == ("RSA", "SOFTWARE")
        assert signing.lifecycle_state == "ENABLED"

        vault_client = cloud.client(oci.vault.VaultsClient,
                                    retry_strategy=oci.retry.NoneRetryStrategy())

        def create(key_id: str, vault_id: str) -> oci.vault.models.Secret:
            return vault_client.create_secret(oci.vault.models.CreateSecretDetails(
                compartment_id=sandbox, vault_id=vault_id, key_id=key_id, secret_name="s",
                secret_content=oci.vault.models.Base64SecretContentDetails(
                    content_type="BASE64", content="aGk="))).data

        with pytest.raises(oci.exceptions.ServiceError) as rsa:
            create(keys["signing-key"].id, main.id)  # secrets need an AES key
        assert rsa.value.status == 400 and "keyId" in rsa.value.message
        with pytest.raises(oci.exceptions.ServiceError) as elsewhere:
            create(keys["spare"].id, main.id)
        assert elsewhere.value.status == 400 and "not in vault" in elsewhere.value.message
        assert create(keys["secrets-key"].id, main.id).key_id == keys["secrets-key"].id


def test_a_bad_key_in_the_tenancy_file_is_refused(tmp_path: Path) -> None:
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text("vaults:\n  - {name: v, keys: [{name: k, algorithm: DES}]}\n")
    with pytest.raises(TenancyFileError, match=r"vaults\[0\]\.keys\[0\]: algorithm"):
        LocalCloud(tmp_path / "state", tenancy_file=tenancy).start()
