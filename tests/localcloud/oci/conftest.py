from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.localcloud.oci import LocalCloud


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cloud(state_dir: Path) -> Iterator[LocalCloud]:
    with LocalCloud(state_dir, event_retry_delays=(0.2, 0.4)) as running:
        yield running
