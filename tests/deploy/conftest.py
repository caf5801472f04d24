"""Fixtures for the deploy tests: a real local OCI cloud, the real oci SDK, and a copy of
the `hello` service per test (deploys write state into the service directory)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from fastfn.deploy.targets.oci import OciFunctionsTarget, local_cloud_target
from fastfn.localcloud.oci import LocalCloud

from support.deploy import HELLO


@pytest.fixture
def cloud_state(tmp_path: Path) -> Path:
    return tmp_path / "cloud"


@pytest.fixture
def cloud(cloud_state: Path) -> Iterator[LocalCloud]:
    with LocalCloud(cloud_state) as running:
        yield running


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    target = tmp_path / "hello"
    shutil.copytree(HELLO, target)
    return target


@pytest.fixture
def target(cloud: LocalCloud, cloud_state: Path) -> OciFunctionsTarget:
    return local_cloud_target(cloud_state)


@pytest.fixture
def functions(cloud: LocalCloud) -> oci.functions.FunctionsManagementClient:
    return cloud.client(oci.functions.FunctionsManagementClient)
