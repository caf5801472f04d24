from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.doctor import deployed, seed001


@pytest.fixture
def deploy(tmp_path: Path) -> Callable[..., Any]:
    def make(tenancy: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return deployed(tmp_path, tenancy if tenancy is not None else seed001(), **kwargs)
    return make
