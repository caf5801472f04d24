from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fastfn.localcloud.fn.platform import FunctionInstance

from support.fn import probe_spec, short_socket_root, started_instance


@pytest.fixture
async def probe(tmp_path: Path, socket_root: Path) -> AsyncIterator[FunctionInstance]:
    """The probe app served by `fastfn serve` in a real process, dialled like the agent."""
    markers = tmp_path / "markers"
    markers.mkdir()
    instance = await started_instance(probe_spec(markers, FASTFN_ROOT_PATH="/v1"), socket_root)
    yield instance
    await instance.kill()


@pytest.fixture
def socket_root() -> Iterator[Path]:
    root = short_socket_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)
