"""Recorded stage state: resources keyed by kind, history with the resources of each
deploy, and files written before resources were keyed by kind."""

from __future__ import annotations

import json
from pathlib import Path

from fastfn.deploy import state


def test_state_written_with_application_and_function_ids_is_read_by_kind(tmp_path: Path):
    path = state.path_for(tmp_path, "dev")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "service": "hello", "stage": "dev", "target": {"kind": "oci-functions"},
        "application_id": "ocid1.fnapp.x", "function_id": "ocid1.fnfunc.y",
        "image": "r/hello:dev", "digest": "sha256:" + "a" * 64,
        "history": [{"image": "r/hello:dev", "digest": "sha256:" + "a" * 64,
                     "time": "2026-01-01T00:00:00Z"}]}))
    loaded = state.load(tmp_path, "dev")
    assert loaded is not None
    assert loaded.resources == {"application": "ocid1.fnapp.x", "function": "ocid1.fnfunc.y"}
    assert loaded.history[0].kind == "image" and loaded.history[0].resources == {}
    state.save(tmp_path, loaded)
    assert "application_id" not in path.read_text()


def test_history_keeps_the_resources_each_artifact_ran_on(tmp_path: Path):
    current = state.StageState(service="s", stage="prod", target={"kind": "aws"})
    current.record_image("s.zip", "sha256:1", "zip", {"function": "f", "version": "1"})
    current.record_image("s.zip", "sha256:2", "zip", {"function": "f", "version": "2"})
    previous = current.previous_image()
    assert previous is not None
    assert (previous.digest, previous.resources["version"]) == ("sha256:1", "1")
    # the same artifact again (a config-only deploy) adds to its entry, not a new one
    current.record_image("s.zip", "sha256:2", "zip", {"version": "3"})
    assert len(current.history) == 2 and current.history[-1].resources["version"] == "3"
