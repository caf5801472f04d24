"""Object Storage's everyday paths with the real oci CLI: multipart puts (`--part-size`,
`--file -`), rename, copy waiting on its work request, versions, storage tiers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fastfn.localcloud.oci import LocalCloud

from support.oci_cli import cli, run

# Each CLI call starts a Python process (seconds under load).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def os_(cloud: LocalCloud, *args: str, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    return run(cloud, "os", *args, "--namespace", cloud.namespace, stdin=stdin)


def test_cli_multipart_put_stdin_and_listing(cloud: LocalCloud, tmp_path: Path) -> None:
    run(cloud, "os", "bucket", "create", "--compartment-id", cloud.compartment_id,
        "--name", "b", "--namespace", cloud.namespace)
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    os_(cloud, "object", "put", "--bucket-name", "b", "--file", str(source),
        "--part-size", "1", "--storage-tier", "InfrequentAccess")
    os_(cloud, "object", "put", "--bucket-name", "b", "--name", "piped", "--file", "-",
        stdin=data)
    listed = os_(cloud, "object", "list", "--bucket-name", "b")["data"]
    assert [o["name"] for o in listed] == ["big.bin", "piped"]
    assert [o["storage-tier"] for o in listed] == ["InfrequentAccess", "Standard"]
    assert all(o["archival-state"] is None for o in listed)  # never UNKNOWN_ENUM_VALUE
    assert listed[0]["md5"].endswith("-4")  # the multipart form
    head = os_(cloud, "object", "head", "--bucket-name", "b", "--name", "big.bin")
    assert head["storage-tier"] == "InfrequentAccess"
    assert "archival-state" not in head
    for name in ("big.bin", "piped"):
        target = tmp_path / f"back-{name}"
        os_(cloud, "object", "get", "--bucket-name", "b", "--name", name,
            "--file", str(target))
        assert target.read_bytes() == data
    assert os_(cloud, "multipart", "list", "--bucket-name", "b") == {}


def test_cli_rename_copy_and_versions(cloud: LocalCloud, tmp_path: Path) -> None:
    for name, extra in (("src", ["--versioning", "Enabled"]), ("dst", [])):
        run(cloud, "os", "bucket", "create", "--compartment-id", cloud.compartment_id,
            "--name", name, "--namespace", cloud.namespace, *extra)
    assert os_(cloud, "bucket", "get", "--bucket-name", "src")["data"]["versioning"] == (
        "Enabled")
    first, second = tmp_path / "one", tmp_path / "two"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    os_(cloud, "object", "put", "--bucket-name", "src", "--name", "a", "--file", str(first))
    os_(cloud, "object", "put", "--bucket-name", "src", "--name", "a", "--file", str(second),
        "--force")
    versions = os_(cloud, "object", "list-object-versions", "--bucket-name", "src")["data"]
    assert [v["name"] for v in versions] == ["a", "a"]
    oldest = versions[1]["version-id"]
    back = tmp_path / "back"
    os_(cloud, "object", "get", "--bucket-name", "src", "--name", "a", "--version-id",
        oldest, "--file", str(back))
    assert back.read_bytes() == b"one"
    os_(cloud, "object", "delete", "--bucket-name", "src", "--name", "a", "--version-id",
        oldest, "--force")
    versions = os_(cloud, "object", "list-object-versions", "--bucket-name", "src")["data"]
    assert [v["version-id"] for v in versions] != [oldest] and len(versions) == 1

    os_(cloud, "object", "rename", "--bucket-name", "src", "--source-name", "a",
        "--new-name", "b")
    copied = run(cloud, "os", "object", "copy", "--namespace-name", cloud.namespace,
                 "--bucket-name", "src", "--source-object-name", "b",
                 "--destination-bucket", "dst", "--destination-object-name", "c",
                 "--wait-for-state", "COMPLETED", "--wait-interval-seconds", "1")
    assert copied["data"]["status"] == "COMPLETED"
    os_(cloud, "object", "get", "--bucket-name", "dst", "--name", "c", "--file", str(back))
    assert back.read_bytes() == b"two"
    missing = cli(cloud, "os", "object", "rename", "--namespace", cloud.namespace,
                  "--bucket-name", "src", "--source-name", "nope", "--new-name", "x",
                  check=False)
    assert missing.returncode != 0 and "ObjectNotFound" in missing.stderr
