"""`fastfn cloud up` / `config` / `events` as a user runs them, with the real oci SDK."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

FASTFN = [sys.executable, "-m", "fastfn"]

SDK_SCRIPT = """
import json, oci
config = oci.config.from_file()
storage = oci.object_storage.ObjectStorageClient(config)
namespace = storage.get_namespace().data
print(json.dumps({"namespace": namespace}))
"""


def exports(config_text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(.*)$", config_text, re.MULTILINE))


def test_cloud_up_config_and_events(tmp_path: Path):
    state = tmp_path / "state"
    proc = subprocess.Popen([*FASTFN, "cloud", "up", "--state-dir", str(state), "--port", "0",
                             "--proxy-port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        # Until the cloud runs, config names the default endpoint "(when ... runs)".
        while "runs)" in (config := subprocess.run(
                [*FASTFN, "cloud", "config", "--state-dir", str(state)],
                capture_output=True, text=True, timeout=60).stdout).split("\n")[1]:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "fastfn cloud up did not start"
            time.sleep(0.2)
        env_vars = exports(config)
        assert {"OCI_CONFIG_FILE", "HTTPS_PROXY", "REQUESTS_CA_BUNDLE"} <= env_vars.keys()
        # The SDK with OCI's own host names, no endpoint argument: through the proxy.
        result = subprocess.run([sys.executable, "-c", SDK_SCRIPT], capture_output=True,
                                text=True, timeout=60, env={**os.environ, **env_vars})
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"namespace": "fastfnlocal"}
        listing = subprocess.run([*FASTFN, "cloud", "events", "--state-dir", str(state),
                                  "--json"], capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0 and json.loads(listing.stdout) == []
        bad = subprocess.run([*FASTFN, "cloud", "events", "--state-dir", str(state),
                              "--state", "LOST"], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1 and "--state must be" in bad.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
