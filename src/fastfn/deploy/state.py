"""Recorded deployed state per stage: `<service>/.fastfn/deploy/<stage>.json`.

The ids of the stage's resources by kind, the artifact now deployed and those deployed
before, each with the resources that served it (rollback reads them: a Lambda version, an
instance configuration). Never secret values: config is not recorded at all, only a
fingerprint of it. Files written before resources were keyed by kind (`application_id`,
`function_id`) are read as such.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

STATE_DIR = Path(".fastfn") / "deploy"
HISTORY_LIMIT = 20


class DeployedImage(BaseModel):
    """One artifact as deployed, with the resources that served it then."""

    image: str
    digest: str
    time: str
    kind: str = "image"
    resources: dict[str, str] = Field(default_factory=dict)
    content_key: str | None = None  # what the image was built from (deploy/image/key.py)


class StageState(BaseModel):
    service: str
    stage: str
    target: dict[str, str]  # kind, compartment, endpoint/region: where this stage lives
    resources: dict[str, str] = Field(default_factory=dict)  # kind -> id
    image: str | None = None
    digest: str | None = None
    # The content key of the image deployed now, when it was built here: a plan with the
    # same key knows the digest without pushing.
    build_key: str | None = None
    settings_fingerprint: str | None = None  # sha256 of the deployed settings
    history: list[DeployedImage] = Field(default_factory=list)  # oldest first
    updated: str = ""

    @model_validator(mode="before")
    @classmethod
    def _read_old_ids(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("application_id" in data or "function_id" in data):
            data = dict(data)
            resources = dict(data.get("resources") or {})
            for kind in ("application", "function"):
                value = data.pop(f"{kind}_id", None)
                if value:
                    resources.setdefault(kind, value)
            data["resources"] = resources
        return data

    def record_image(self, image: str, digest: str, kind: str = "image",
                     resources: dict[str, str] | None = None,
                     content_key: str | None = None) -> None:
        self.image, self.digest = image, digest
        if content_key is None:  # a rollback: the history knows the key, if any
            content_key = next((e.content_key for e in reversed(self.history)
                                if e.digest == digest and e.image == image), None)
        self.build_key = content_key
        entry = DeployedImage(image=image, digest=digest, time=now(), kind=kind,
                              resources=dict(resources or {}), content_key=content_key)
        if self.history and self.history[-1].digest == digest:
            self.history[-1].resources.update(entry.resources)
            self.history[-1].content_key = content_key or self.history[-1].content_key
        else:
            self.history.append(entry)
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
