"""What the service directory says about the function: func.yaml and the Dockerfile."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServiceFiles:
    directory: Path
    func_yaml: dict[str, Any] | None  # None: no func.yaml
    func_yaml_error: str | None
    command: list[str] | None  # the final stage's ENTRYPOINT + CMD; None: no Dockerfile
    dockerfile: Path | None
    expected_timeout: int | None  # the manifest's timeout for this stage


def read_service(directory: Path, expected_timeout: int | None = None) -> ServiceFiles:
    func_yaml, error = None, None
    path = directory / "func.yaml"
    if path.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text())
            func_yaml = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError as exc:
            error = f"func.yaml is not valid YAML: {exc}"
    dockerfile = directory / "Dockerfile"
    command = dockerfile_command(dockerfile.read_text()) if dockerfile.is_file() else None
    return ServiceFiles(directory, func_yaml, error, command,
                        dockerfile if dockerfile.is_file() else None, expected_timeout)


def _words(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
            if isinstance(parsed, list):
                return [str(p) for p in parsed]
        except ValueError:
            pass
    try:
        return ["/bin/sh", "-c", " ".join(shlex.split(rest))]
    except ValueError:
        return ["/bin/sh", "-c", rest]


def dockerfile_command(text: str) -> list[str]:
    """ENTRYPOINT + CMD of the last stage (continuation lines joined)."""
    joined = text.replace("\\\n", " ")
    entrypoint: list[str] = []
    cmd: list[str] = []
    for line in joined.splitlines():
        word, _, rest = line.strip().partition(" ")
        upper = word.upper()
        if upper == "FROM":
            entrypoint, cmd = [], []
        elif upper == "ENTRYPOINT":
            entrypoint = _words(rest)
        elif upper == "CMD":
            cmd = _words(rest)
    return [*entrypoint, *cmd]
