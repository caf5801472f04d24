"""The seed-004 service deployed on the embedded AWS, smoke-tested through its function
URL with seed 004's validate_deployment table, its GitHub route against a GitHub stand-in
on loopback, and its key from SSM."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from fastfn.deploy import deployer
from fastfn.deploy.targets.aws.local import embedded_target
from fastfn.localcloud.aws.embedded import EmbeddedAWS
from fastfn.manifest import load

from support.github_fake import FakeGitHub

SERVICE = Path(__file__).parents[2] / "examples" / "github-digest"
# Seed 004's table; the rate-limit row reaches the GitHub stand-in here.
VALIDATE = [("/info/version", 200), ("/github-api/rate-limit", 200), ("/invalid-path", 404)]


@pytest.mark.slow
def test_dev_and_prod_on_the_embedded_aws(tmp_path: Path) -> None:
    service = tmp_path / "github-digest"
    shutil.copytree(SERVICE, service, ignore=shutil.ignore_patterns(".fastfn", "__pycache__"))
    with FakeGitHub() as github, EmbeddedAWS(tmp_path / "cloud") as aws:
        manifest = service / "fastfn.yaml"
        manifest.write_text(manifest.read_text().replace("https://api.github.com",
                                                         github.url))
        keys = {"dev": "dev-key-0a1b2c", "prod": "prod-key-3d4e5f"}
        for stage, key in keys.items():
            aws.client("ssm").put_parameter(Name=f"/github-digest/{stage}/api-key", Value=key,
                                            Type="SecureString")
        urls = {}
        for stage in keys:
            outcome = deployer.deploy(load(service), service, stage,
                                      embedded_target(aws.state_dir))
            urls[stage] = outcome.execution.ids["url"]
        for stage, key in keys.items():
            for path, status in VALIDATE:
                got = httpx.get(urls[stage] + path.lstrip("/"), headers={"x-api-key": key},
                                timeout=60)
                assert got.status_code == status, (stage, path, got.text)
            other = keys["prod" if stage == "dev" else "dev"]
            assert httpx.get(urls[stage] + "info/version", headers={"x-api-key": other},
                             timeout=60).status_code == 401  # stages have their own keys
        logs = "".join(p.read_text(errors="replace") for p in aws.log_dir.glob("*.log"))
        assert "request refused" in logs
        assert not any(key in logs for key in keys.values())
