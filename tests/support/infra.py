"""Helpers for the tests of the example Terraform (`examples/triviapay-api/infra`): the
module parsed with python-hcl2, and the static-check tools scripts/setup.sh puts in
`.tools/` (each in its own venv)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "examples" / "triviapay-api" / "infra"
TOOLS = REPO / ".tools"
PLACEHOLDER = base64.b64encode(b"CHANGEME").decode()  # the only secret content allowed


def tool(*parts: str) -> Path:
    path = TOOLS.joinpath(*parts)
    assert path.exists(), f"{path.relative_to(REPO)} is missing: run scripts/setup.sh"
    return path


def run(argv: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=300, **kwargs)


def clean(node: Any) -> Any:
    """Drops python-hcl2's markers (`__is_block__`, `__comments__`)."""
    if isinstance(node, dict):
        return {k: clean(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [clean(item) for item in node]
    return node


def load(directory: Path = INFRA) -> dict[str, list[Any]]:
    options = hcl2.SerializationOptions(strip_string_quotes=True)
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as f:
            for key, blocks in clean(hcl2.load(f, serialization_options=options)).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def resources(module: dict[str, list[Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for block in module.get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                found.setdefault(rtype, {})[name] = body
    return found


def value(body: dict[str, Any], key: str) -> Any:
    """python-hcl2 wraps nested blocks in lists; attributes come plain."""
    item = body[key]
    return item[0] if isinstance(item, list) and item and isinstance(item[0], dict) else item
