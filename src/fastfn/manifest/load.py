"""Reading `fastfn.yaml` (or an Fn `func.yaml`) into a `Manifest`, errors naming the key.

The OCI keys that used to sit at the top level (and at a stage's top level) are moved into
the `oci:` section before validation; an error in one still names the key as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fastfn.manifest.common import ManifestError
from fastfn.manifest.core import Manifest
from fastfn.manifest.oci import LEGACY_KEYS

MANIFEST_NAMES = ("fastfn.yaml", "fastfn.yml")


def _move_legacy(data: dict[str, Any], where: str, moved: dict[str, str]) -> dict[str, Any]:
    legacy = {key: data[key] for key in LEGACY_KEYS if key in data}
    if not legacy:
        return data
    section = data.get("oci")
    if section is not None and not isinstance(section, dict):
        return data  # let validation report `oci` itself
    both = sorted(set(legacy) & set(section or {}))
    if both:
        raise ManifestError(f"{where}{both[0]}: given both at the top level and under "
                            f"{where}oci; keep one (oci.{both[0]})")
    out = {key: value for key, value in data.items() if key not in LEGACY_KEYS}
    out["oci"] = {**(section or {}), **legacy}
    for key in legacy:
        moved[f"{where}oci.{key}"] = f"{where}{key}"
    return out


def _format_errors(source: str, exc: ValidationError, moved: dict[str, str]) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        key = moved.get(key, key)
        message = error["msg"].removeprefix("Value error, ")
        for new, old in moved.items():  # a stage's section errors carry the key in the text
            message = message.replace(f"{new}:", f"{old}:")
        lines.append(f"{source}: {key}: {message}" if key != "(top level)" or ": " not in
                     message else f"{source}: {message}")
    return "\n".join(lines)


def parse(data: Any, source: str = "fastfn.yaml") -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: expected a mapping at the top level")
    moved: dict[str, str] = {}
    try:
        data = _move_legacy(data, "", moved)
        stages = data.get("stages")
        if isinstance(stages, dict):
            data = {**data, "stages": {
                name: _move_legacy(stage, f"stages.{name}.", moved)
                if isinstance(stage, dict) else stage for name, stage in stages.items()}}
    except ManifestError as exc:
        raise ManifestError(f"{source}: {exc}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_format_errors(source, exc, moved)) from None


def from_func_yaml(data: Any, source: str = "func.yaml") -> Manifest:
    """Read what fastfn needs from an Fn func.yaml: name, memory, timeout, config."""
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: expected a mapping at the top level")
    converted: dict[str, Any] = {"name": data.get("name")}
    for key in ("memory", "timeout", "config"):
        if key in data:
            converted[key] = data[key]
    return parse(converted, source)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path.name}: not valid YAML: {exc}") from None


def load(directory: Path) -> Manifest:
    """fastfn.yaml in `directory`, else its func.yaml."""
    for name in MANIFEST_NAMES:
        path = directory / name
        if path.is_file():
            return parse(_read_yaml(path), name)
    func_yaml = directory / "func.yaml"
    if func_yaml.is_file():
        return from_func_yaml(_read_yaml(func_yaml))
    raise ManifestError(f"no fastfn.yaml or func.yaml in {directory}")
