"""The generated Dockerfile: fastfn serve, uid 1000, compiled bytecode, shape's architecture."""

from __future__ import annotations

import pytest

from fastfn.deploy.container import build_command, dockerfile, platforms_for_shape
from fastfn.manifest import parse


@pytest.mark.parametrize("shape,platforms", [
    ("GENERIC_X86", "linux/amd64"),
    ("GENERIC_ARM", "linux/arm64"),
    ("GENERIC_X86_ARM", "linux/amd64,linux/arm64"),
])
def test_architecture_follows_the_application_shape(shape: str, platforms: str):
    manifest = parse({"name": "items", "app": "main:app", "shape": shape})
    text = dockerfile(manifest)
    assert ",".join(platforms_for_shape(shape)) == platforms
    assert f"--platform {platforms} " in build_command(manifest, "r/n/items:1")
    from_lines = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(from_lines) == 2  # multi-stage
    expected = platforms if "," not in platforms else "$TARGETPLATFORM"
    assert all(line.startswith(f"FROM --platform={expected} ") for line in from_lines)


def test_runs_fastfn_serve_as_uid_1000_with_compiled_bytecode():
    text = dockerfile(parse({"name": "items", "app": "service.main:api", "python": "3.12"}))
    lines = text.splitlines()
    assert lines[-1] == 'CMD ["fastfn", "serve", "service.main:api"]'
    assert "USER 1000:1000" in lines
    assert any("compileall" in line for line in lines)
    assert "ARG BASE_IMAGE=python:3.12-slim-bookworm" in lines
    assert "FROM --platform=linux/amd64 ${BASE_IMAGE} AS build" in lines
    # Nothing runs as root after the switch to uid 1000.
    assert lines.index("USER 1000:1000") > max(i for i, line in enumerate(lines) if "RUN" in line)


def test_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="unknown application shape"):
        platforms_for_shape("GENERIC_SPARC")
