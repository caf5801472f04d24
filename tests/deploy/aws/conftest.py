"""The aws target against a real embedded AWS (moto server + the local Lambda), one per
module; each test deploys its own copy of the `svc` service under a name of its own."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.localcloud.aws.embedded import EmbeddedAWS

SVC = Path(__file__).parent / "apps" / "svc"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def aws(tmp_path_factory) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(tmp_path_factory.mktemp("cloud")) as embedded:
        yield embedded


@pytest.fixture
def service(tmp_path: Path, aws: EmbeddedAWS) -> Path:
    """A copy of svc named svcN, with its SSM parameters in place."""
    name = f"svc{next(_names)}"
    target = tmp_path / name
    shutil.copytree(SVC, target, ignore=shutil.ignore_patterns(".fastfn", "__pycache__"))
    manifest = target / "fastfn.yaml"
    manifest.write_text(manifest.read_text().replace("name: svc", f"name: {name}")
                        .replace("/svc/", f"/{name}/"))
    ssm = aws.client("ssm")
    for stage in ("default", "dev", "prod"):
        ssm.put_parameter(Name=f"/{name}/{stage}/api-key", Value=f"{stage}-key-{name}",
                          Type="SecureString", Overwrite=True)
    return target
