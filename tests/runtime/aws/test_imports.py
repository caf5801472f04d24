"""The handler ships in the function's zip: importing it (init) must not pull in boto3 or
any developer-side part of fastfn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

APPS = Path(__file__).parent / "apps"


def test_handler_import_stays_light() -> None:
    code = ("import json, sys, fastfn.runtime.aws.handler as h; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'oci', 'pydantic', 'mangum') or m.startswith(("
            "'fastfn.localcloud', 'fastfn.deploy', 'fastfn.cli', 'fastfn.manifest', "
            "'fastfn.doctor')))))")
    env = {**os.environ, "FASTFN_APP": "lambda_app:app", "LAMBDA_TASK_ROOT": str(APPS)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=str(APPS))
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    # FastAPI itself brings pydantic: only our own and the SDKs' modules are checked.
    assert [m for m in loaded if not m.startswith("pydantic")] == []
