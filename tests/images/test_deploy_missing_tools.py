"""`fastfn deploy` to the local cloud builds the image by default; where buildah or
skopeo is not installed it stops before any call with a message naming the Debian
package and the way out (`--set build=source`), a non-zero exit and no traceback.

The real CLI in its own process, with a PATH that has neither tool, against a local
cloud that runs its registry (docker-registry)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

SERVICE = Path(__file__).parent / "service"


def _path_without(tmp_path: Path, *tools: str) -> str:
    """A PATH of this machine's directories with every program but `tools` (symlinked)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for program in Path(directory).iterdir():
            target = bin_dir / program.name
            if program.name in tools or target.exists() or not os.access(program, os.X_OK):
                continue
            target.symlink_to(program)
    return str(bin_dir)


@pytest.mark.parametrize("tool", ["buildah", "skopeo"])
def test_deploy_without_the_image_tools_names_the_package_and_the_source_build(
        tool: str, tmp_path: Path) -> None:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (scripts/setup.sh)")
    service = tmp_path / "hello"
    shutil.copytree(SERVICE, service)
    path = _path_without(tmp_path, tool)
    assert shutil.which(tool, path=path) is None
    env = {k: v for k, v in os.environ.items() if k != "FASTFN_LOCAL_BUILD"}
    env["PATH"] = path
    with LocalCloud(tmp_path / "cloud", registry=True) as cloud:
        done = subprocess.run(
            [sys.executable, "-m", "fastfn", "deploy", str(service),
             "--cloud-state", str(tmp_path / "cloud")],
            env=env, capture_output=True, text=True, timeout=300, check=False)
        output = " ".join((done.stdout + done.stderr).split())  # the console wraps at 80
        assert done.returncode != 0, output
        assert "Traceback" not in output
        assert f"{tool} is not installed" in output
        assert f"apt-get install {tool}" in output
        assert "--set build=source" in output
        # Nothing was created.
        functions = cloud.client(oci.functions.FunctionsManagementClient)
        assert functions.list_applications(cloud.compartment_id).data == []
