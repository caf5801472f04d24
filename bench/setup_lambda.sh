#!/usr/bin/env bash
# The venv for bench/lambda_runtime.py under bench/.venvs/lambda (gitignored): fastfn
# editable from src/, the runtime's deps, fastapi and awslambdaric as the project lock pins
# them, and Mangum 0.22 (the anchor; never in the project lock). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
venv="$here/.venvs/lambda"
mkdir -p "$here/.venvs"

if [ -z "${PYTHON:-}" ] && [ -f "$root/.venv/pyvenv.cfg" ]; then
  home=$(sed -n 's/^home *= *//p' "$root/.venv/pyvenv.cfg")
  [ -x "$home/python3" ] && PYTHON="$home/python3"
fi
PY=${PYTHON:-python3}

stamp="$venv/.stamp"
if [ -f "$stamp" ] && [ "$stamp" -nt "$0" ] && [ "$stamp" -nt "$root/requirements.lock" ]; then
  exit 0
fi
constraints="$here/.venvs/lambda-constraints.txt"
grep -E '^[A-Za-z0-9_.-]+==' "$root/requirements.lock" >"$constraints"
"$PY" -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -c "$constraints" -e "$root" fastapi awslambdaric
"$venv/bin/python" -m pip install -q "mangum==0.22.0"
"$venv/bin/python" -m compileall -q "$venv/lib" >/dev/null || true
touch "$stamp"
