"""`fastfn ci github --target pool`: seed 002's two workflows for a service on an instance
pool, with its Terraform in `<service>/infra`.

- `oci-deploy.yml`: GitHub OIDC -> OCI session token (no stored API key), a guard on the
  canonical repository and the ref (prod = main only; staging = main, staging or a tag),
  one concurrency group per environment (`oci-<env>-deploy`, never cancelled), the
  Terraform outputs read from the state object (failing fast naming every missing one),
  the pool's previous instance configuration in the job summary, an optional drift
  warning (`OCI_TF_DRIFT_CHECK`: a plan, not printed), the image built and
  pushed to the OCIR repository of the outputs, `fastfn deploy --target pool` (the
  rolling update), and a cache-bypassing smoke test.
- `infra-ci.yml`: `terraform fmt -check`, `validate` with `-backend=false`, tflint, trivy
  (tfsec's successor), checkov with the module's own policies; on main, a plan against
  the remote state written to a file (never printed) and scanned for secret content that
  is not the `CHANGEME` placeholder.

The OIDC token exchange and the Vault-backed registry login are the OCI Functions
workflows' own (`fastfn.deploy.ci_github`).
"""

from __future__ import annotations

import re
from pathlib import Path

from fastfn.deploy.ci_github import (
    GENERATED_MARK,
    REPOSITORY,
    Workflow,
    _indent,
    image_steps,
    install_steps,
)
from fastfn.deploy.targets.pool.ci_infra import drift_steps, infra_workflow
from fastfn.deploy.targets.pool.ci_scripts import STATE_OUTPUTS, session_step
from fastfn.manifest import Manifest

# Seed 002's outputs the deploy reads (the infra module declares exactly these).
REQUIRED_OUTPUTS = (
    "backend_port", "instance_pool_id", "private_subnet_id", "api_nsg_id", "lb_id",
    "lb_backend_set_name", "app_env_secret_id", "ocir_username_secret_id",
    "ocir_auth_token_secret_id", "availability_domain", "compartment_ocid",
    "instance_image_id", "instance_shape", "instance_ocpus", "instance_memory_gbs",
    "ocir_namespace", "ocir_registry", "ocir_repo_name", "ocir_repo_url",
    "uma_configuration_id", "app_log_id",
)
ENVIRONMENTS = ("staging", "prod")
DEFAULT_SHAPE = "VM.Standard.A1.Flex"  # seed 002: Ampere A1

# The environment of a run: the dispatch input, else prod for main and staging for the
# staging branch or a tag.
ENV_EXPR = ("inputs.environment || (github.ref == 'refs/heads/main' && 'prod' "
            "|| 'staging')")
BACKEND_KEY = re.compile(r'backend\s+"oci"\s*\{[^}]*?\bkey\s*=\s*"([^"]+)"', re.S)


def platform_for_pool_shape(shape: str) -> str:
    """Ampere shapes (VM.Standard.A1.Flex, BM.Standard.A1.160, A2, A4) run arm64."""
    return "linux/arm64" if re.search(r"\.A\d+\.", shape + ".") else "linux/amd64"


def state_key(infra_dir: Path, service: str) -> str:
    """The state object's key as the module's backend block fixes it."""
    for path in sorted(infra_dir.glob("*.tf")):
        match = BACKEND_KEY.search(path.read_text())
        if match:
            return match.group(1)
    return f"{service}/terraform.tfstate"


def _guard(repository: str | None) -> str:
    repo = f"'{repository}'" if repository else "vars.OCI_CANONICAL_REPO"
    env = f"({ENV_EXPR})"
    return (f"github.repository == {repo} && ((github.ref == 'refs/heads/main') || "
            f"({env} == 'staging' && (github.ref == 'refs/heads/staging' || "
            f"startsWith(github.ref, 'refs/tags/'))))")


def deploy_workflow(manifest: Manifest, service_path: str, infra_path: str, key: str,
                    repository: str | None, shape: str) -> Workflow:
    platform = platform_for_pool_shape(shape)
    stages = sorted(manifest.stages)
    qemu = "" if platform == "linux/amd64" else "\n- uses: docker/setup-qemu-action@v4"
    steps = f"""\
{install_steps(manifest.python)}\
{session_step()}\
- name: Terraform outputs from the state backend; the previous instance configuration
  id: tf
  env:
    STATE_BUCKET: ${{{{ vars.OCI_STATE_BUCKET }}}}
    STATE_NAMESPACE: ${{{{ vars.OCI_STATE_NAMESPACE }}}}
    STATE_REGION: ${{{{ vars.OCI_STATE_REGION }}}}
    STATE_KEY: ${{{{ vars.OCI_STATE_KEY || '{key}' }}}}
    REQUIRED_OUTPUTS: {" ".join(REQUIRED_OUTPUTS)}
  run: |
    python - <<'EOF'
{_indent(STATE_OUTPUTS, 4)}
    EOF
{drift_steps(infra_path).rstrip()}{qemu}
{image_steps(username="steps.tf.outputs.ocir_username_secret_id",
              auth_token="steps.tf.outputs.ocir_auth_token_secret_id",
              registry="steps.tf.outputs.ocir_registry",
              image="${{ steps.tf.outputs.ocir_repo_url }}", platforms=platform)}\
- name: fastfn deploy --target pool (rolling update, rolled back by itself if unhealthy)
  env:
    FASTFN_OCI_PROFILE: DEFAULT
    FASTFN_IMAGE: ${{{{ steps.image.outputs.ref }}}}
    FASTFN_STATE_BUCKET: ${{{{ vars.OCI_STATE_BUCKET }}}}
    FASTFN_STATE_NAMESPACE: ${{{{ vars.OCI_STATE_NAMESPACE }}}}
    FASTFN_STATE_KEY: ${{{{ vars.OCI_STATE_KEY || '{key}' }}}}
    MAX_WAIT_SECONDS: ${{{{ vars.MAX_WAIT_SECONDS || '1800' }}}}
    BACKEND_DRAIN_TIMEOUT_SECONDS: ${{{{ vars.OCI_BACKEND_DRAIN_TIMEOUT_SECONDS || '120' }}}}
    LB_WAIT_TIMEOUT_SECONDS: ${{{{ vars.OCI_LB_WAIT_TIMEOUT_SECONDS || '300' }}}}
    VNIC_SUBNET_ID: ${{{{ steps.tf.outputs.private_subnet_id }}}}
    HEALTHCHECK_URL: ${{{{ secrets.HEALTHCHECK_URL }}}}
    HEALTHCHECK_DB_URL: ${{{{ secrets.HEALTHCHECK_DB_URL }}}}
  run: |
    args=(--target pool)
    case " {" ".join(stages)} " in *" $DEPLOY_ENV "*) args+=(--stage "$DEPLOY_ENV");; esac
    fastfn deploy "$SERVICE_DIR" "${{args[@]}}"
- name: Smoke test (cache-bypassing)
  env:
    HEALTHCHECK_URL: ${{{{ secrets.HEALTHCHECK_URL }}}}
    HEALTHCHECK_DB_URL: ${{{{ secrets.HEALTHCHECK_DB_URL }}}}
  run: |
    if [ -z "$HEALTHCHECK_URL" ]; then echo "no HEALTHCHECK_URL: smoke test skipped"; exit 0; fi
    for url in "$HEALTHCHECK_URL" "$HEALTHCHECK_DB_URL"; do
      [ -n "$url" ] || continue
      sep='?'; case "$url" in *\\?*) sep='&';; esac
      curl --fail --silent --show-error --retry 10 --retry-all-errors --retry-delay 6 \\
        --max-time 10 -H 'Cache-Control: no-cache' -H 'Pragma: no-cache' \\
        -o /dev/null "$url${{sep}}nocache=$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT"
    done
    echo "smoke test passed" >> "$GITHUB_STEP_SUMMARY"
"""
    options = "\n".join(f"          - {env}" for env in ENVIRONMENTS)
    text = f"""\
{GENERATED_MARK} for service {manifest.name} ({service_path}): seed 002's pool deploy
# Settings (GitHub environments staging and prod, each with its own values):
#   vars: OCI_WIF_DOMAIN_BASE_URL, OCI_WIF_AUDIENCE (default https://github.com/<org>/
#         <repo>), OCI_WIF_CLIENT_IDENTIFIER (a public identifier: no client secret),
#         OCI_CANONICAL_REPO (org/repo; unless generated with --repo), OCI_TENANCY_OCID,
#         OCI_REGION, OCI_STATE_BUCKET, OCI_STATE_NAMESPACE, OCI_STATE_REGION, optional
#         OCI_STATE_KEY (default {key}), OCI_LB_WAIT_TIMEOUT_SECONDS,
#         OCI_BACKEND_DRAIN_TIMEOUT_SECONDS (120), MAX_WAIT_SECONDS, FASTFN_PIP_SPEC,
#         OCI_TF_DRIFT_CHECK (true: a plan warns on drift; needs infra-ci's plan vars)
#   secrets: HEALTHCHECK_URL, HEALTHCHECK_DB_URL (optional smoke tests); no client
#            secret and no API key: the identity domain app is a public client
# Every id, port and secret OCID comes from the Terraform outputs in the state object
# ({infra_path}); OCIR credentials come from Vault. Pin the trust: aud, and sub to
# repo:<org>/<repo>:environment:<env>.
name: "{manifest.name}: oci-deploy"

on:
  push:
    branches: [main, staging]
    tags: ["v*"]
    paths:
      - "{service_path}/**"
  workflow_dispatch:
    inputs:
      environment:
        description: Environment (prod deploys from main only)
        type: choice
        default: staging
        options:
{options}

permissions:
  contents: read
  id-token: write  # the OIDC token exchanged for a short-lived OCI session token

jobs:
  deploy:
    # Repo guard (forks never deploy) and ref guard: prod = main only;
    # staging = main, staging or a tag.
    if: {_guard(repository)}
    runs-on: ubuntu-latest
    timeout-minutes: 60
    environment: ${{{{ {ENV_EXPR} }}}}
    concurrency:
      group: oci-${{{{ {ENV_EXPR} }}}}-deploy
      cancel-in-progress: false
    env:
      SERVICE_DIR: {service_path}
      DEPLOY_ENV: ${{{{ {ENV_EXPR} }}}}
    steps:
{_indent(steps, 6)}
"""
    return Workflow("oci-deploy.yml", text)


def workflows(manifest: Manifest, service_path: str, infra_dir: Path,
              repository: str | None = None) -> list[Workflow]:
    """oci-deploy.yml and infra-ci.yml; paths relative to the repository root.
    `infra_dir` is the module on disk (its backend block names the state key)."""
    if repository is not None and not REPOSITORY.match(repository):
        raise ValueError(f"--repo must look like org/name, got {repository!r}")
    if not any(infra_dir.glob("*.tf")):
        raise ValueError(f"no Terraform in {infra_dir}: the pool target expects the "
                         "service's infra module there")
    service_path = Path(service_path).as_posix().strip("/") or "."
    infra_path = f"{service_path}/infra" if service_path != "." else "infra"
    pool = getattr(manifest, "pool", None)
    shape = getattr(pool, "shape", None) or DEFAULT_SHAPE
    key = state_key(infra_dir, manifest.name)
    return [deploy_workflow(manifest, service_path, infra_path, key, repository, shape),
            infra_workflow(manifest, infra_path, repository)]
