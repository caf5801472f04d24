"""Recorded deployed state per stage: `<service>/.fastfn/deploy/<stage>.json`.

Ids, the image and digest now deployed and the digests deployed before (rollback reads
them). Never secret values: config is not recorded at all, only a fingerprint of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

STATE_DIR = Path(".fastfn") / "deploy"
HISTORY_LIMIT = 20


class DeployedImage(BaseModel):
    image: str
    digest: str
    time: str


class StageState(BaseModel):
    service: str
    stage: str
    target: dict[str, str]  # kind, compartment, endpoint/region: where this stage lives
    application_id: str | None = None
    function_id: str | None = None
    image: str | None = None
    digest: str | None = None
    settings_fingerprint: str | None = None  # sha256 of the deployed settings
    history: list[DeployedImage] = Field(default_factory=list)  # oldest first
    updated: str = ""

    def record_image(self, image: str, digest: str) -> None:
        self.image, self.digest = image, digest
        if not self.history or self.history[-1].digest != digest:
            self.history.append(DeployedImage(image=image, digest=digest, time=now()))
            del self.history[:-HISTORY_LIMIT]

    def previous_image(self) -> DeployedImage | None:
        """The last recorded image before the one deployed now."""
        for entry in reversed(self.history):
            if entry.digest != self.digest:
                return entry
        return None


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(settings: dict[str, Any]) -> str:
    data = json.dumps(settings, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def path_for(service_dir: Path, stage: str) -> Path:
    return service_dir / STATE_DIR / f"{stage}.json"


def load(service_dir: Path, stage: str) -> StageState | None:
    path = path_for(service_dir, stage)
    if not path.exists():
        return None
    return StageState.model_validate_json(path.read_text())


def save(service_dir: Path, state: StageState) -> Path:
    state.updated = now()
    path = path_for(service_dir, state.stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(state.model_dump_json(indent=2) + "\n")
    tmp.replace(path)  # atomic: an interrupted write never leaves half a file
    return path


def remove(service_dir: Path, stage: str) -> None:
    path_for(service_dir, stage).unlink(missing_ok=True)
