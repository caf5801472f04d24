"""Non-HTTP events and direct invokes go to the configured routes."""

from __future__ import annotations

import pytest

from fastfn.runtime.aws.events.common import EventError
from fastfn.runtime.aws.runtime import InvokeFailed
from fastfn.runtime.routes import RouteConfig


def test_s3_event_to_event_route(runtime, load_event, ric_context) -> None:
    event = load_event("s3")
    result = runtime(event, ric_context())
    assert result["got"] == event
    assert result["source"] == "aws:s3"
    assert result["trigger"] == "event"


def test_eventbridge_event_to_event_route(runtime, load_event, ric_context) -> None:
    event = load_event("eventbridge")
    result = runtime(event, ric_context())
    assert result["got"] == event and result["source"] == "aws:events"


def test_sqs_partial_batch_failure(runtime, load_event, ric_context) -> None:
    event = load_event("sqs")
    result = runtime(event, ric_context())
    assert result == {"batchItemFailures": [
        {"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"},
        {"itemIdentifier": "3a5b6c7d-0000-4000-8000-000000000003"},
    ]}


def test_sqs_all_good_is_empty_failures(runtime, load_event, ric_context) -> None:
    event = load_event("sqs")
    event["Records"] = [event["Records"][0], event["Records"][3]]
    assert runtime(event, ric_context()) == {"batchItemFailures": []}


def test_event_app_500_fails_the_invoke(runtime, load_event, ric_context) -> None:
    event = load_event("eventbridge") | {"detail": {"x": "please-500"}}
    with pytest.raises(InvokeFailed, match="500"):
        runtime(event, ric_context())


def test_direct_invoke_to_default_route(runtime, load_event, ric_context) -> None:
    for payload in ({"k": [1, 2]}, [1, "two"], "text", 7):
        result = runtime(payload, ric_context())
        assert result["direct"] == payload


def test_lifespan_not_per_invoke(runtime, load_event, ric_context) -> None:
    first = runtime({"n": 1}, ric_context())["startups"]
    for _ in range(20):
        assert runtime({"n": 1}, ric_context())["startups"] == first


def test_missing_route_is_a_clear_error(fresh_runtime, load_event, ric_context) -> None:
    rt = fresh_runtime(RouteConfig())
    with pytest.raises(EventError, match="FASTFN_EVENT_ROUTE"):
        rt(load_event("s3"), ric_context())
    with pytest.raises(EventError, match="FASTFN_DEFAULT_ROUTE"):
        rt({"x": 1}, ric_context())


def test_direct_invoke_error_status_is_an_error(fresh_runtime, ric_context) -> None:
    from fastfn.runtime.routes import Route

    rt = fresh_runtime(RouteConfig(default_route=Route("POST", "/no-such-route")))
    with pytest.raises(InvokeFailed, match="404"):
        rt({"x": 1}, ric_context())


def test_event_crash_fails_the_invoke(runtime, load_event, ric_context) -> None:
    event = load_event("s3")
    event["Records"][0]["s3"]["object"]["key"] = "please-crash"
    with pytest.raises(InvokeFailed, match="crashed"):
        runtime(event, ric_context())
