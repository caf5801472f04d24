"""Shared by the Fn runtime and local platform tests: the probe function and agent calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastfn.localcloud.fn.agent_client import FnResponse
from fastfn.localcloud.fn.platform import FunctionInstance, FunctionSpec

APPS_DIR = Path(__file__).resolve().parents[1] / "apps"


def probe_spec(markers: Path, timeout_s: float = 30.0, **config: str) -> FunctionSpec:
    env = {"PROBE_MARKER_DIR": str(markers), "FASTFN_DEFAULT_ROUTE": "POST /items",
           "FASTFN_EVENT_ROUTE": "POST /events"}
    env.update(config)
    return FunctionSpec(
        fn_id="ocid1.fnfunc.oc1.test.probe", fn_name="probe", app_id="ocid1.fnapp.oc1.test.a",
        app_name="tests", source_dir=APPS_DIR, app="probe:app", config=env,
        timeout_s=timeout_s,
    )


def deadline(seconds: float = 30.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def gateway_headers(method: str, url: str, *extra: tuple[str, str],
                    call_id: str = "call-1") -> list[tuple[str, str]]:
    return [
        ("Fn-Call-Id", call_id),
        ("Fn-Deadline", deadline()),
        ("Fn-Intent", "httprequest"),
        ("Fn-Invoke-Type", "sync"),
        ("Fn-Http-Method", method),
        ("Fn-Http-Request-Url", url),
        *extra,
    ]


def json_body(response: FnResponse) -> dict:
    return json.loads(response.body)


async def started_instance(spec: FunctionSpec, root: Path) -> FunctionInstance:
    lines: list[str] = []
    instance = FunctionInstance(spec, root, lambda _name, line: lines.append(line))
    instance.log_lines = lines  # type: ignore[attr-defined]
    await instance.start()
    return instance


def short_socket_root() -> Path:
    """Socket paths must stay under 107 bytes: pytest's tmp_path can be longer."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="fftest-"))
