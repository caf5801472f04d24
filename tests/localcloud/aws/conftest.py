from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastfn.localcloud.aws.lambda_ import LocalFunction

APPS = Path(__file__).parents[2] / "runtime" / "aws" / "apps"
EVENTS = Path(__file__).parents[2] / "runtime" / "aws" / "events"
HANDLER = "fastfn.runtime.aws.handler.handler"
APP_ENV = {"FASTFN_APP": "lambda_app:app", "FASTFN_DEFAULT_ROUTE": "POST /direct",
           "FASTFN_EVENT_ROUTE": "POST /events"}


@pytest.fixture
def load_event():
    return lambda name: json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def make_function(tmp_path):
    made: list[LocalFunction] = []

    def make(name: str = "probe", handler: str = HANDLER, env: dict | None = None,
             timeout_s: float = 10.0, code_dir: Path = APPS) -> LocalFunction:
        fn = LocalFunction(name, handler, str(code_dir), environment=APP_ENV | (env or {}),
                           timeout_s=timeout_s, memory_mb=256, log_dir=str(tmp_path))
        made.append(fn)
        return fn

    yield make
    for fn in made:
        fn.close()


@pytest.fixture(scope="module")
def warm_function(tmp_path_factory):
    with LocalFunction("warm", HANDLER, str(APPS), environment=APP_ENV, timeout_s=10.0,
                       memory_mb=256, log_dir=str(tmp_path_factory.mktemp("logs"))) as fn:
        yield fn


@pytest.fixture(scope="session")
def function_code() -> dict:
    """Where the test function's code is, its handler and its environment."""
    return {"code_dir": APPS, "handler": HANDLER, "env": APP_ENV}
