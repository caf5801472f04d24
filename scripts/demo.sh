#!/usr/bin/env bash
# The demo command: sets up (idempotent), then runs seed 001's service on the local cloud.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py
