from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from awslambdaric.lambda_context import LambdaContext as RicContext

from fastfn.runtime.aws.runtime import LambdaRuntime
from fastfn.runtime.routes import Route, RouteConfig

EVENTS = Path(__file__).parent / "events"
APPS = Path(__file__).parent / "apps"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:probe"


def _load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def _ric_context(timeout_s: float = 30.0) -> RicContext:
    """awslambdaric's own context object, as it builds it for every invoke."""
    deadline = int((time.time() + timeout_s) * 1000)
    return RicContext(str(uuid.uuid4()), None, None, deadline, ARN)


@pytest.fixture(scope="module")
def runtime() -> LambdaRuntime:
    from fastfn.runtime.app import import_app

    app = import_app("lambda_app:app", str(APPS))

    rt = LambdaRuntime(app, RouteConfig(default_route=Route("POST", "/direct"),
                                        event_route=Route("POST", "/events")))
    yield rt
    rt.stop()


@pytest.fixture
def load_event():
    return _load_event


@pytest.fixture
def ric_context():
    return _ric_context


@pytest.fixture
def fresh_runtime():
    """A runtime for `lambda_app` with the given RouteConfig, stopped afterwards."""
    from fastfn.runtime.app import import_app

    made: list[LambdaRuntime] = []

    def make(config: RouteConfig) -> LambdaRuntime:
        made.append(LambdaRuntime(import_app("lambda_app:app", str(APPS)), config))
        return made[-1]

    yield make
    for rt in made:
        rt.stop()
