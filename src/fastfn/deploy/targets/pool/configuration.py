"""The new instance configuration a rollout launches: the Terraform outputs (image,
shape, subnet, NSG, agent), the image digest and the stage's settings.

`user_data` is the cloud-init a real instance runs: it reads the OCIR credentials and the
app's env file from Vault with the instance principal, pulls the image by digest and runs
it as uid 10001 with `PORT` = the backend port and the log directory mounted. It holds
secret OCIDs only, never a secret value. Metadata `container_image` names the image for
anyone reading the configuration (and the local cloud runs exactly that image).
"""

from __future__ import annotations

import base64
import shlex
from typing import Any

from fastfn.deploy.targets.pool.observe import IMAGE_KEY
from fastfn.deploy.targets.pool.outputs import PoolOutputs
from fastfn.deploy.targets.pool.settings import InstanceSettings

CONTAINER_UID = 10001


def env_lines(port: int, settings: InstanceSettings) -> list[str]:
    env = {**settings.config, "PORT": str(port)}
    if settings.app_log_path:
        env["APP_LOG_PATH"] = settings.app_log_path
    if settings.drain_delay_s is not None:
        env["FASTFN_DRAIN_DELAY"] = f"{settings.drain_delay_s:g}"
    return [f"{k}={v}" for k, v in sorted(env.items())]


def cloud_init(outputs: PoolOutputs, image: str, service: str,
               settings: InstanceSettings) -> str:
    port = outputs.backend_port
    env_file = f"/etc/{service}.env"
    log_dir = settings.app_log_path.rpartition("/")[0] if settings.app_log_path else ""
    q = shlex.quote
    secret = ("oci secrets secret-bundle get --auth instance_principal --secret-id {} "
              "--query 'data.\"secret-bundle-content\".content' --raw-output | base64 -d")
    lines = [
        "#!/bin/bash",
        "set -euo pipefail",
        f"install -m 0600 /dev/null {env_file}",
        f"{secret.format(q(outputs.text('app_env_secret_id')))} > {env_file}",
        f"grep -q '^PORT=' {env_file} || echo PORT={port} >> {env_file}",
    ]
    lines += [f"echo {q(line)} >> {env_file}" for line in env_lines(port, settings)]
    if log_dir:
        lines.append(f"install -d -o {CONTAINER_UID} -g {CONTAINER_UID} {q(log_dir)}")
    lines += [
        f"USER=$({secret.format(q(outputs.text('ocir_username_secret_id')))})",
        f"{secret.format(q(outputs.text('ocir_auth_token_secret_id')))} | "
        f"docker login --username \"$USER\" --password-stdin "
        f"{q(outputs.text('ocir_registry'))}",
        f"docker pull {q(image)}",
        f"docker rm -f {q(service)} 2>/dev/null || true",
        f"docker run -d --name {q(service)} --restart=always --user {CONTAINER_UID} "
        f"--env-file {env_file} -p {port}:{port}"
        + (f" -v {q(log_dir)}:{q(log_dir)}" if log_dir else "") + f" {q(image)}",
    ]
    return "\n".join(lines) + "\n"


def launch_details(outputs: PoolOutputs, image: str, service: str, version: str,
                   settings: InstanceSettings) -> dict[str, Any]:
    """The instance configuration as plain data (the apply step makes SDK models of it)."""
    port = outputs.backend_port
    user_data = base64.b64encode(cloud_init(outputs, image, service,
                                            settings).encode()).decode()
    return {
        "display_name": f"{service}-{version}",
        "compartment_id": outputs.compartment_id,
        "availability_domain": outputs.text("availability_domain"),
        "shape": outputs.text("instance_shape"),
        "ocpus": float(outputs["instance_ocpus"]),
        "memory_in_gbs": float(outputs["instance_memory_gbs"]),
        "image_id": outputs.text("instance_image_id"),
        "subnet_id": outputs.private_subnet_id,
        "nsg_ids": [outputs.text("api_nsg_id")],
        "metadata": {"user_data": user_data, IMAGE_KEY: image, "PORT": str(port)},
        # The local cloud runs the image with this env; on OCI cloud-init writes it.
        "env": dict(line.split("=", 1) for line in env_lines(port, settings)),
        "freeform_tags": {"fastfn-service": service, "fastfn-version": version},
    }


def sdk_details(m: Any, d: dict[str, Any]) -> Any:
    """`oci.core.models.CreateInstanceConfigurationDetails` from `launch_details`."""
    return m.CreateInstanceConfigurationDetails(
        compartment_id=d["compartment_id"], display_name=d["display_name"],
        freeform_tags=d["freeform_tags"],
        instance_details=m.ComputeInstanceDetails(
            launch_details=m.InstanceConfigurationLaunchInstanceDetails(
                compartment_id=d["compartment_id"],
                availability_domain=d["availability_domain"], shape=d["shape"],
                shape_config=m.InstanceConfigurationLaunchInstanceShapeConfigDetails(
                    ocpus=d["ocpus"], memory_in_gbs=d["memory_in_gbs"]),
                source_details=m.InstanceConfigurationInstanceSourceViaImageDetails(
                    image_id=d["image_id"]),
                create_vnic_details=m.InstanceConfigurationCreateVnicDetails(
                    subnet_id=d["subnet_id"], nsg_ids=d["nsg_ids"],
                    assign_public_ip=False),
                agent_config=m.InstanceConfigurationLaunchInstanceAgentConfigDetails(
                    plugins_config=[m.InstanceAgentPluginConfigDetails(
                        name="Custom Logs Monitoring", desired_state="ENABLED")]),
                metadata=d["metadata"], extended_metadata={"env": d["env"]},
                freeform_tags=d["freeform_tags"])))
