"""Driving the real `oci` CLI (pip oci-cli, in its own venv under .tools) at a local cloud."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from fastfn.localcloud.oci import LocalCloud


def oci_cli() -> str:
    """scripts/setup.sh's CLI, or the one FASTFN_OCI_CLI names."""
    if os.environ.get("FASTFN_OCI_CLI"):
        return os.environ["FASTFN_OCI_CLI"]
    found = Path(__file__).resolve().parents[2] / ".tools" / "oci-cli" / "bin" / "oci"
    assert found.exists(), "the oci CLI is missing; run scripts/setup.sh"
    return str(found)


def cli(cloud: LocalCloud, *args: str, stdin: bytes | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCI_CLI_CONFIG_FILE": str(cloud.config_file),
           "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True"}
    command = [oci_cli(), *args, "--config-file", str(cloud.config_file)]
    if args[0] != "raw-request":  # it takes the whole URL in --target-uri instead
        command += ["--endpoint", cloud.endpoint]
    done = subprocess.run(command, env=env, capture_output=True, timeout=180,
                          input=stdin)
    result = subprocess.CompletedProcess(command, done.returncode,
                                         done.stdout.decode(errors="replace"),
                                         done.stderr.decode(errors="replace"))
    if check:
        assert result.returncode == 0, result.stderr or result.stdout
    return result


def run(cloud: LocalCloud, *args: str, stdin: bytes | None = None) -> Any:
    """The CLI's JSON answer (`{}` when it prints nothing)."""
    out = cli(cloud, *args, stdin=stdin).stdout
    return json.loads(out) if out.strip() else {}
