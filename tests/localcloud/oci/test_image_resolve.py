"""The Functions service's image resolution against a real registry (docker-registry):
tiny images written as OCI layouts by hand (a config and no layers, one per platform,
or an image index of them) and pushed with skopeo, then resolved per application shape."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.localcloud.oci.functions.resolve import PullFailure, RegistryResolver
from fastfn.localcloud.registry import LocalRegistry

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _manifest(layout: Path, arch: str) -> dict[str, object]:
    config = _blob(layout, json.dumps({"architecture": arch, "os": "linux",
                                       "config": {"Cmd": ["true"]},
                                       "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "layers": [],
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config}}
    return {"mediaType": MANIFEST, **_blob(layout, json.dumps(manifest).encode()),
            "platform": {"architecture": arch, "os": "linux"}}


def _push(tmp: Path, registry: str, repo: str, archs: list[str]) -> None:
    layout = tmp / repo.replace("/", "-")
    entries = [_manifest(layout, arch) for arch in archs]
    if len(entries) == 1:
        top = {k: v for k, v in entries[0].items() if k != "platform"}
    else:
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
        top = {"mediaType": INDEX, **_blob(layout, json.dumps(index).encode())}
    top["annotations"] = {"org.opencontainers.image.ref.name": "1"}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", "--all",
                    "--dest-tls-verify=false", f"oci:{layout}:1",
                    f"docker://{registry}/{repo}:1"], check=True)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        pytest.skip("docker-registry and skopeo are not installed (scripts/setup.sh)")
    tmp = tmp_path_factory.mktemp("registry")
    with LocalRegistry(tmp / "registry") as running:
        _push(tmp, running.address, "ns/amd", ["amd64"])
        _push(tmp, running.address, "ns/arm", ["arm64"])
        _push(tmp, running.address, "ns/multi", ["arm64", "amd64"])
        yield running.address


def test_platforms_are_chosen_by_application_shape(registry: str) -> None:
    resolver = RegistryResolver(registry)
    amd = resolver.resolve("local.ocir.io/ns/amd:1", None, "GENERIC_X86")
    assert amd.architectures == ("amd64",) and amd.source.digest == amd.top_digest
    assert amd.source.repository == f"{registry}/ns/amd"
    multi = resolver.resolve("local.ocir.io/ns/multi:1", None, "GENERIC_X86")
    assert multi.architectures == ("arm64", "amd64")
    assert multi.source.digest != multi.top_digest  # the amd64 child, not the index
    arm = resolver.resolve("local.ocir.io/ns/multi:1", None, "GENERIC_ARM")
    assert arm.source.digest not in (multi.source.digest, multi.top_digest)
    # Pinned to the index's digest, the same child is pulled.
    again = resolver.resolve("local.ocir.io/ns/multi:1", multi.top_digest, "GENERIC_X86")
    assert again.source == multi.source


def test_what_cannot_be_pulled_says_why(registry: str) -> None:
    resolver = RegistryResolver(registry)
    with pytest.raises(PullFailure, match=r"no manifest for linux/amd64.*offers linux/arm64"):
        resolver.resolve("local.ocir.io/ns/arm:1", None, "GENERIC_X86")
    assert resolver.architectures("local.ocir.io/ns/arm:1", None) == ("arm64",)
    with pytest.raises(PullFailure, match="MANIFEST_UNKNOWN"):
        resolver.resolve("local.ocir.io/ns/amd:2", None, "GENERIC_X86")
    with pytest.raises(PullFailure, match="registry answered 404"):
        resolver.resolve("local.ocir.io/ns/amd:1", "sha256:" + "0" * 64, "GENERIC_X86")
    with pytest.raises(PullFailure, match="unreachable"):
        RegistryResolver("127.0.0.1:1").resolve("local.ocir.io/ns/amd:1", None, "GENERIC_X86")
    assert resolver.handles("fra.ocir.io/ns/amd:1")
    assert resolver.handles(f"{registry}/ns/amd:1")
    assert not resolver.handles("docker.io/library/python:3.12")
