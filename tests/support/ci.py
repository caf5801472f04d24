"""What the generated-workflow tests share: the actionlint binary setup.sh installs."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def actionlint() -> str | None:
    """`.tools/actionlint` (scripts/setup.sh), else one on PATH, else None."""
    local = REPO / ".tools" / "actionlint" / "bin" / "actionlint"
    return str(local) if local.exists() else shutil.which("actionlint")
