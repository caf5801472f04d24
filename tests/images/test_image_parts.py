"""The quick parts of image building: OCIR names mapped to the local registry, fastfn's
own wheel, requirements pointed at it, the base's cache key, clear errors for missing
tools and bad input."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fastfn.cli import app
from fastfn.deploy.image.base import BaseSpec
from fastfn.deploy.image.tools import ImageToolMissing, require
from fastfn.deploy.image.wheel import fastfn_wheel, wheel_bytes
from fastfn.deploy.image.wheelhouse import platform_tags, pointed_requirements
from fastfn.localcloud.registry import local_reference, ocir_parts

SERVICE = Path(__file__).parent / "service"


def test_ocir_names_map_to_the_local_registry_repository_for_repository():
    assert ocir_parts("fra.ocir.io/axaxnpcrorw5/team/items:1.2") == (
        "fra.ocir.io", "axaxnpcrorw5", "team/items", ":1.2")
    assert local_reference("iad.ocir.io/ns/items@sha256:ab", "127.0.0.1:5000") == \
        "127.0.0.1:5000/ns/items@sha256:ab"
    with pytest.raises(ValueError, match="not an OCIR image name"):
        ocir_parts("items:1")


def test_fastfn_wheel_is_reproducible_and_carries_metadata_and_the_script(tmp_path: Path):
    name, data = wheel_bytes()
    assert wheel_bytes()[1] == data  # same source, same bytes: the pip layer stays cached
    path = fastfn_wheel(tmp_path)
    assert path.name == name and name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        entry = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "fastfn/runtime/serve.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert "Requires-Dist: httptools" in metadata and "Provides-Extra: oci" in metadata
    assert "fastfn = fastfn._entry:main" in entry
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", "--target", str(target), str(path)], check=True)
    assert (target / "fastfn" / "runtime" / "serve.py").is_file()


def test_requirements_naming_fastfn_point_at_the_local_wheel():
    wheel = Path("/w/fastfn-0.1.0-py3-none-any.whl")
    text = "fastfn[oci]>=0.1  # the runtime\nfastapi>=0.115\nfastfnx==1\n"
    assert pointed_requirements(text, wheel).splitlines() == [
        f"{wheel}[oci]", "fastapi>=0.115", "fastfnx==1"]
    assert platform_tags("arm64")[0] == "manylinux_2_36_aarch64"


def test_base_key_follows_its_recipe():
    assert BaseSpec().key == BaseSpec().key
    assert BaseSpec(packages=("python3",)).key != BaseSpec().key
    assert BaseSpec(mirror="http://mirror.example/debian").key != BaseSpec(mirror=None).key
    assert BaseSpec(arch="arm64").reference.endswith("-arm64")
    with pytest.raises(ValueError, match="unknown Debian suite"):
        _ = BaseSpec(suite="potato").python


def test_a_missing_tool_names_its_debian_package(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImageToolMissing, match="apt-get install buildah"):
        require("buildah")
    result = CliRunner().invoke(app, ["build", str(SERVICE)])
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "apt-get install buildah" in output and "Traceback" not in output


def test_build_refuses_a_tag_with_a_digest():
    result = CliRunner().invoke(app, ["build", str(SERVICE), "--tag",
                                      "fra.ocir.io/ns/hello@sha256:00"])
    assert result.exit_code == 1 and "no digest" in " ".join(result.output.split())
