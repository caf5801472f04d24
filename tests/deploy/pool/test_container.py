"""The pool's container file: `fastfn serve --http` on PORT as uid 10001, compiled
bytecode, the architecture of the instance shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fastfn.cli import app as cli
from fastfn.deploy.targets.pool.container import platform_for_shape, pool_dockerfile
from fastfn.manifest import parse

TRIVIAPAY = Path(__file__).resolve().parents[3] / "examples" / "triviapay-api"


@pytest.mark.parametrize(("shape", "platform"), [
    ("VM.Standard.A1.Flex", "linux/arm64"),
    ("BM.Standard.A1.160", "linux/arm64"),
    ("VM.Standard.A2.Flex", "linux/arm64"),
    ("VM.Standard.E4.Flex", "linux/amd64"),
    ("VM.Standard3.Flex", "linux/amd64"),
])
def test_architecture_follows_the_instance_shape(shape: str, platform: str) -> None:
    text = pool_dockerfile(parse({"name": "api", "app": "main:app", "target": "pool",
                                  "pool": {"shape": shape}}))
    froms = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2 and all(f"--platform={platform} " in line for line in froms)
    assert platform_for_shape(shape) == platform
    assert f"buildx build --platform {platform} " in text


def test_serves_http_on_port_as_uid_10001_with_compiled_bytecode() -> None:
    text = pool_dockerfile(parse({"name": "api", "app": "svc.main:api", "target": "pool",
                                  "pool": {"port": 9000}}))
    lines = text.splitlines()
    assert lines[-1] == 'CMD ["fastfn", "serve", "svc.main:api", "--http"]'
    assert "USER 10001:10001" in lines and "EXPOSE 9000" in lines
    assert any("PORT=9000" in line for line in lines)
    assert "--uid 10001 --gid 10001" in text
    assert "compileall" in text


def test_the_example_ships_the_generated_file() -> None:
    result = CliRunner().invoke(cli, ["dockerfile", str(TRIVIAPAY)])
    assert result.exit_code == 0, result.output
    assert result.output == (TRIVIAPAY / "Dockerfile").read_text()
    assert "--platform=linux/arm64" in result.output


def test_a_bad_shape_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "fastfn.yaml").write_text(
        "name: api\napp: main:app\ntarget: pool\npool:\n  shape: A1-large\n")
    result = CliRunner().invoke(cli, ["dockerfile", str(tmp_path)])
    assert result.exit_code == 1
    assert "pool.shape" in result.output and "Traceback" not in result.output
