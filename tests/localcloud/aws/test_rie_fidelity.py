"""Fidelity: the same app answers the same events byte for byte under AWS's Runtime
Interface Emulator (`aws-lambda-rie`, shipped in the aws-sam-cli wheel) and under the
local Lambda. Skipped when the binary is absent: set FASTFN_LAMBDA_RIE to its path or
put `aws-lambda-rie` on PATH (scripts/setup.sh puts it in .tools/rie)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fastfn.localcloud.aws.lambda_ import EXECUTION_ENV

_SETUP_RIE = Path(__file__).resolve().parents[3] / ".tools" / "rie" / "aws-lambda-rie"
RIE = (os.environ.get("FASTFN_LAMBDA_RIE") or shutil.which("aws-lambda-rie")
       or (str(_SETUP_RIE) if _SETUP_RIE.exists() else None))
pytestmark = pytest.mark.skipif(not RIE, reason="aws-lambda-rie not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rie_url(function_code):
    APPS, HANDLER, APP_ENV = (function_code[k] for k in ("code_dir", "handler", "env"))
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", ""), "AWS_EXECUTION_ENV": EXECUTION_ENV,
           "PYTHONPATH": str(APPS), "LAMBDA_TASK_ROOT": str(APPS), **APP_ENV}
    process = subprocess.Popen(
        [RIE, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
         sys.executable, "-m", "awslambdaric", HANDLER],
        cwd=str(APPS), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.post(url, json={"ping": 1}, timeout=10)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait()


def _cases(load_event) -> list[object]:
    v2 = load_event("http_v2")
    binary = v2 | {"rawPath": "/binary", "rawQueryString": "", "isBase64Encoded": True,
                   "body": "AAECAwQF/v8="}
    binary["requestContext"] = binary["requestContext"] | {
        "http": binary["requestContext"]["http"] | {"method": "POST"}}
    return [
        {"plain": "json", "text": "é ü 中"},
        v2 | {"rawPath": "/cookies", "rawQueryString": ""},
        v2 | {"rawPath": "/text", "rawQueryString": ""},
        binary,
        load_event("alb_single"),
        load_event("s3"),
        load_event("eventbridge"),
        load_event("sqs"),
    ]


def test_same_answers_as_rie(rie_url, warm_function, load_event) -> None:
    for event in _cases(load_event):
        ours = warm_function.invoke(event)
        theirs = httpx.post(rie_url, json=event, timeout=10)
        assert ours.function_error is None
        assert theirs.status_code == 200
        assert ours.payload == theirs.content, event
