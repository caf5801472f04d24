from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fn import short_socket_root


@pytest.fixture
def socket_root() -> Iterator[Path]:
    root = short_socket_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)
