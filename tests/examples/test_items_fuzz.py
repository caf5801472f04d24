"""schemathesis against the items service's own OpenAPI, through the gateway, on a real DB."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.usefixtures("clean_items"), pytest.mark.asyncio(loop_scope="module")]

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


async def test_schemathesis_finds_no_server_error_in_500_or_more_cases(
    items_client: httpx.AsyncClient, tmp_path: Path
):
    base = f"{items_client.base_url}".rstrip("/") + "/v1"
    report = tmp_path / "report.json"
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--url", base,
        "--checks", "not_a_server_error", "--max-examples", "120", "--seed", "20261123",
        "--workers", "1", "--phases", "examples,coverage,fuzzing",
        "--report", "json", "--report-json-path", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 600)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    summary = json.loads(report.read_text())
    assert summary["operations"]["tested"] == summary["operations"]["total"] == 5
    assert summary["test_cases"]["generated"] >= 500
    assert summary["test_cases"]["with_failures"] == 0, summary["failures"]
    assert summary["test_cases"]["errored"] == 0, summary["errors"]
