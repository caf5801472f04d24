"""Seed 001's deployment on the local OCI cloud loaded with its recorded tenancy, as CI did
it: the image pushed to `hello-world-app/postgres-inserter` (a first push creates that
repository in the root compartment), the application in compartment Sandbox on the
private subnet, the function with its DSN as a Vault reference.

    .venv/bin/fastfn cloud up --tenancy examples/items/seed001-tenancy.yaml &
    ITEMS_DSN=postgresql://... .venv/bin/python examples/items/seed001.py
    eval "$(.venv/bin/fastfn cloud config)"
    oci --no-retry fn function invoke --function-id <printed id> --body '{"name": "Test"}' --file -

prints the function's OCID. Tests call `deploy()` on an in-process LocalCloud.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

import oci
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
)
from oci.vault.models import Base64SecretContentDetails, CreateSecretDetails

from fastfn.localcloud.oci.images import ImageStore
from fastfn.manifest import load

HERE = Path(__file__).resolve().parent
REPOSITORY = "hello-world-app/postgres-inserter"


def vault_key(config: dict[str, Any], endpoint: str, vault_id: str) -> str:
    """The vault's AES key, found as on OCI: the vault names its management endpoint."""
    vault = oci.key_management.KmsVaultClient(config, service_endpoint=endpoint).get_vault(
        vault_id).data
    keys = oci.key_management.KmsManagementClient(
        config, service_endpoint=vault.management_endpoint).list_keys(vault.compartment_id).data
    return next(k.id for k in keys if k.vault_id == vault_id and k.algorithm == "AES")


def deploy(config: dict[str, Any], endpoint: str, images: ImageStore, namespace: str,
           vault_id: str, dsn: str, tag: str = "0a1b2c3") -> Any:
    """Create the secret, push the image, create the application and the function."""
    def client(kind: type[Any]) -> Any:
        return kind(config, service_endpoint=endpoint)

    tenancy = config["tenancy"]
    sandbox = next(c for c in client(oci.identity.IdentityClient).list_compartments(
        tenancy).data if c.name == "Sandbox")
    subnet = next(s for s in client(oci.core.VirtualNetworkClient).list_subnets(
        sandbox.id).data if s.display_name == "private")
    secret = client(oci.vault.VaultsClient).create_secret(CreateSecretDetails(
        compartment_id=sandbox.id, vault_id=vault_id, key_id=vault_key(config, endpoint, vault_id),
        secret_name=f"items-dsn-{tag}", secret_content=Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(dsn.encode()).decode()),
    )).data
    settings = load(HERE).resolve()
    fn_config = settings.function_config()
    fn_config["DATABASE_URL"] = f"vault:{secret.id}"
    image = f"fra.ocir.io/{namespace}/{REPOSITORY}:{tag}"
    images.put(image, HERE, settings.app)  # CI's build and push
    management = client(oci.functions.FunctionsManagementClient)
    app = management.create_application(CreateApplicationDetails(
        compartment_id=sandbox.id, display_name=f"hello-world-app-{tag}",
        subnet_ids=[subnet.id])).data
    return management.create_function(CreateFunctionDetails(
        display_name="postgres-inserter", application_id=app.id, memory_in_mbs=512,
        timeout_in_seconds=60, config=fn_config,
        source_details=CreateContainerImageFunctionSourceDetails(image=image))).data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".fastfn") / "cloud")
    parser.add_argument("--tag", default="0a1b2c3", help="the image tag (CI: the git sha)")
    args = parser.parse_args(argv)
    dsn = os.environ.get("ITEMS_DSN")
    if not dsn:
        raise SystemExit("set ITEMS_DSN (the items database's DSN; it goes to Vault)")
    running = args.state_dir / "run" / "endpoint.json"
    if not running.exists():
        raise SystemExit(f"no local cloud runs on {args.state_dir}: start `fastfn cloud up "
                         "--tenancy examples/items/seed001-tenancy.yaml` first")
    endpoint = json.loads(running.read_text())["endpoint"]
    config = oci.config.from_file(str(args.state_dir / "oci" / "config"))
    cloud = json.loads((args.state_dir / "cloud.json").read_text())
    function = deploy(config, endpoint, ImageStore.open(args.state_dir), cloud["namespace"],
                      cloud["vault_id"], dsn, args.tag)
    print(function.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
