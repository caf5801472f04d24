"""The real-OCI path of the target (`--oci-profile`): no endpoint override, OCI's own host
names, an image pushed elsewhere and named by digest. The local cloud's HTTPS proxy
stands in for OCI, so the same code runs as it would against a real region."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import oci

from fastfn.localcloud.oci import LocalCloud

from support.deploy import invoke, operations

IMAGE = "fra.ocir.io/fastfnlocal/hello"


def fastfn(cloud: LocalCloud, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **cloud.proxy_env(), "FASTFN_OCI_PROFILE": "DEFAULT",
           "OCI_CONFIG_FILE": str(cloud.config_file),
           "FASTFN_COMPARTMENT": cloud.compartment_id, "FASTFN_SUBNET": cloud.subnet_id}
    return subprocess.run([sys.executable, "-m", "fastfn", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_deploy_to_oci_with_a_prebuilt_image(cloud: LocalCloud, service_dir: Path) -> None:
    # What CI's `docker buildx build --push` does; fastfn gets the reference and digest.
    digest = cloud.images.put(f"{IMAGE}:abc123", service_dir, "main:app")
    ref = f"{IMAGE}:abc123@{digest}"

    without = fastfn(cloud, "deploy", str(service_dir), "--stage", "dev")
    assert without.returncode == 1
    assert "--image" in without.stderr and "docker buildx build" in without.stderr

    done = fastfn(cloud, "deploy", str(service_dir), "--stage", "dev", "--image", ref, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["mutating_calls"] == 2
    assert [c["operation"] for c in result["plan"]["calls"]] == [
        "create_application", "push_image", "create_function"]
    fn = cloud.client(oci.functions.FunctionsManagementClient).get_function(
        result["ids"]["function"]).data
    assert (fn.source_details.image, fn.source_details.image_digest) == (f"{IMAGE}:abc123",
                                                                         digest)
    assert invoke(cloud, fn.id)["version"] == "1"

    again = fastfn(cloud, "plan", str(service_dir), "--stage", "dev", "--image", ref, "--json")
    assert json.loads(again.stdout)["mutating_calls"] == 0, again.stderr
    assert operations(cloud) == ["CREATE_APPLICATION", "CREATE_FUNCTION"]


def test_oci_profile_needs_compartment_and_subnet(cloud: LocalCloud,
                                                  service_dir: Path) -> None:
    env = {**os.environ, "OCI_CONFIG_FILE": str(cloud.config_file)}
    done = subprocess.run([sys.executable, "-m", "fastfn", "plan", str(service_dir),
                           "--oci-profile", "DEFAULT"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 1 and "--compartment and --subnet" in done.stderr
