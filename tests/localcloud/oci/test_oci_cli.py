"""The real `oci` CLI (pip oci-cli) against the local cloud, as a user would drive it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from fastfn.localcloud.oci import LocalCloud

pytestmark = pytest.mark.slow


def oci_cli() -> str:
    # scripts/setup.sh installs the CLI in a venv of its own (it pins old dependencies).
    found = str(Path(__file__).resolve().parents[3] / ".tools" / "oci-cli" / "bin" / "oci")
    assert Path(found).exists(), "the oci CLI is missing; run scripts/setup.sh"
    return found


def run(cloud: LocalCloud, *args: str, endpoint: bool = True,
        extra_env: dict[str, str] | None = None) -> dict:
    env = {**os.environ, "OCI_CLI_CONFIG_FILE": str(cloud.config_file),
           "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True", **(extra_env or {})}
    command = [oci_cli(), *args, "--config-file", str(cloud.config_file)]
    if endpoint:
        command += ["--endpoint", cloud.endpoint]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_cli_uploads_an_object_and_reads_a_secret(cloud: LocalCloud, tmp_path: Path) -> None:
    ns = run(cloud, "os", "ns", "get")["data"]
    assert ns == cloud.namespace
    run(cloud, "os", "bucket", "create", "--compartment-id", cloud.compartment_id,
        "--name", "cli-bucket", "--namespace", ns)
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n1,2\n" * 1000)
    run(cloud, "os", "object", "put", "--namespace", ns, "--bucket-name", "cli-bucket",
        "--name", "reports/report.csv", "--file", str(source))
    listed = run(cloud, "os", "object", "list", "--namespace", ns, "--bucket-name",
                 "cli-bucket")["data"]
    assert [o["name"] for o in listed] == ["reports/report.csv"]
    target = tmp_path / "back.csv"
    run(cloud, "os", "object", "get", "--namespace", ns, "--bucket-name", "cli-bucket",
        "--name", "reports/report.csv", "--file", str(target))
    assert target.read_bytes() == source.read_bytes()

    secret = run(cloud, "vault", "secret", "create-base64", "--compartment-id",
                 cloud.compartment_id, "--vault-id", cloud.vault_id, "--key-id",
                 cloud.key_id, "--secret-name", "smtp-password",
                 "--secret-content-content", base64.b64encode(b"p4ss").decode())["data"]
    bundle = run(cloud, "secrets", "secret-bundle", "get", "--secret-id", secret["id"])["data"]
    assert base64.b64decode(bundle["secret-bundle-content"]["content"]) == b"p4ss"


def test_cli_through_the_proxy_without_endpoint(cloud: LocalCloud) -> None:
    # No --endpoint: the CLI builds https://objectstorage.<region>.oraclecloud.com itself.
    data = run(cloud, "os", "ns", "get", endpoint=False, extra_env=cloud.proxy_env())["data"]
    assert data == cloud.namespace


def test_cli_with_a_wrong_key_is_refused(cloud: LocalCloud, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "wrong.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    config = tmp_path / "config"
    config.write_text(cloud.config_file.read_text().replace(
        cloud.config["key_file"], str(key_file)))
    config.chmod(0o600)
    done = subprocess.run([oci_cli(), "os", "ns", "get", "--config-file", str(config),
                           "--endpoint", cloud.endpoint, "--no-retry"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ,
                               "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True"})
    assert done.returncode != 0
    assert "NotAuthenticated" in done.stderr
