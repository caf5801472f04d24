"""State survives a restart: same tenancy, keys, buckets, objects, secrets and functions."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import oci

from fastfn.localcloud.oci import LocalCloud, config_text

from support.oci import APPS, IMAGE


def test_state_survives_restart(state_dir: Path, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000
    with LocalCloud(state_dir) as first:
        ids = (first.tenancy_id, first.compartment_id, first.config["fingerprint"])
        storage = first.client(oci.object_storage.ObjectStorageClient)
        storage.create_bucket(first.namespace, oci.object_storage.models.CreateBucketDetails(
            name="keep", compartment_id=first.compartment_id))
        etag = storage.put_object(first.namespace, "keep", "blob", payload).headers["etag"]
        secret = first.client(oci.vault.VaultsClient).create_secret(
            oci.vault.models.CreateSecretDetails(
                compartment_id=first.compartment_id, vault_id=first.vault_id,
                secret_name="kept", key_id=first.key_id,
                secret_content=oci.vault.models.Base64SecretContentDetails(
                    content_type="BASE64", content=base64.b64encode(b"v1").decode()))).data
        first.images.put(IMAGE, APPS, "ocifn:app")
        management = first.client(oci.functions.FunctionsManagementClient)
        app = management.create_application(oci.functions.models.CreateApplicationDetails(
            compartment_id=first.compartment_id, display_name="a",
            subnet_ids=[first.subnet_id],
            config={"FASTFN_DEFAULT_ROUTE": "POST /invoke"})).data
        fn = management.create_function(oci.functions.models.CreateFunctionDetails(
            display_name="f", application_id=app.id, memory_in_mbs=128,
            source_details=oci.functions.models.CreateContainerImageFunctionSourceDetails(
                image=IMAGE))).data

    with LocalCloud(state_dir) as second:
        assert (second.tenancy_id, second.compartment_id,
                second.config["fingerprint"]) == ids
        # The old config file still works: same user, same key.
        config = oci.config.from_file(str(second.config_file))
        storage = oci.object_storage.ObjectStorageClient(config,
                                                         service_endpoint=second.endpoint)
        got = storage.get_object(second.namespace, "keep", "blob")
        assert (got.data.content, got.headers["etag"]) == (payload, etag)
        bundle = second.client(oci.secrets.SecretsClient).get_secret_bundle(secret.id).data
        assert base64.b64decode(bundle.secret_bundle_content.content) == b"v1"
        invoked = oci.functions.FunctionsInvokeClient(
            config, service_endpoint=second.endpoint).invoke_function(
            fn.id, invoke_function_body=json.dumps({"op": "echo"}))
        assert invoked.data.json()["fn_id"] == fn.id

        text = config_text(state_dir)
        assert second.endpoint in text
        assert f"OCI_CLI_CONFIG_FILE={second.config_file.resolve()}" in text
        assert second.tenancy_id in text


def test_concurrent_first_starts_agree_on_one_key_and_identity(tmp_path: Path) -> None:
    """`fastfn cloud up` and `fastfn cloud config` may both be the first to need them."""
    import concurrent.futures
    import subprocess
    import sys

    script = ("import sys, json\n"
              "from pathlib import Path\n"
              "from fastfn.localcloud.oci.core.auth import load_or_create_key, fingerprint\n"
              "from fastfn.localcloud.oci.core.context import CloudIdentity\n"
              "state = Path(sys.argv[1])\n"
              "key = load_or_create_key(state / 'keys' / 'api_key.pem')\n"
              "print(json.dumps([fingerprint(key.public_key()),"
              " CloudIdentity.load_or_create(state).tenancy_id]))\n")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outputs = list(pool.map(lambda _: subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
            check=True, timeout=60).stdout, range(6)))
    assert len(set(outputs)) == 1
