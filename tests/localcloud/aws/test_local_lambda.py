"""The local Lambda: the runtime handler as a real process under awslambdaric."""

from __future__ import annotations

import base64
import json
import threading
import time

import httpx

from fastfn.localcloud.aws.function_url import FunctionURL


def v2(load_event, path: str, query: str = "") -> dict:
    return load_event("http_v2") | {"rawPath": path, "rawQueryString": query}


def test_lifespan_once_over_100_invokes_warm(warm_function, load_event) -> None:
    pids = set()
    for _ in range(100):
        result = warm_function.invoke(v2(load_event, "/lifespan"))
        assert result.function_error is None, result
        got = json.loads(json.loads(result.payload)["body"])
        assert got["startups"] == 1
        pids.add(got["pid"])
    assert len(pids) == 1
    assert warm_function.inits == 1


def test_runtime_api_sets_tcp_nodelay(warm_function) -> None:
    warm_function.invoke({"n": 1})
    api = warm_function.runtime_api
    assert api is not None and api.nodelay_values
    assert all(value == 1 for value in api.nodelay_values)


def test_context_under_awslambdaric(warm_function, load_event) -> None:
    result = warm_function.invoke(v2(load_event, "/echo"))
    got = json.loads(json.loads(result.payload)["body"])["context"]
    assert got["platform"] == "aws-lambda"
    assert got["function_id"] == warm_function.arn
    assert got["function_name"] == "warm"
    assert got["memory_mb"] == 256
    assert 8 < got["remaining"] <= 10


def test_non_ascii_json_is_not_escaped(warm_function) -> None:
    result = warm_function.invoke({"x": "é"})
    assert "é".encode() in result.payload


def test_sqs_partial_batch_failure(warm_function, load_event) -> None:
    result = warm_function.invoke(load_event("sqs"))
    assert result.function_error is None
    failed = [item["itemIdentifier"] for item in result.json()["batchItemFailures"]]
    assert failed == ["2e1424d4-f796-459a-8184-9c92662be6da",
                      "3a5b6c7d-0000-4000-8000-000000000003"]


def test_call_failed_is_an_unhandled_error(warm_function, load_event) -> None:
    result = warm_function.invoke(v2(load_event, "/fail"))
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "CallFailed"
    assert result.json()["errorMessage"] == "refused on purpose"
    # The environment survives a failed call.
    assert warm_function.invoke({"n": 2}).function_error is None


def test_timeout_kills_and_next_invoke_inits_again(make_function, load_event) -> None:
    fn = make_function("slow", timeout_s=1.0)
    assert fn.invoke({"n": 1}).function_error is None
    started = time.monotonic()
    result = fn.invoke(v2(load_event, "/sleep", "s=5"))
    assert time.monotonic() - started < 2.5
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Sandbox.Timedout"
    assert result.json()["errorMessage"].endswith("Task timed out after 1.00 seconds")
    again = fn.invoke({"n": 2})
    assert again.function_error is None and again.json()["startups"] == 1
    assert fn.inits == 2


def test_init_error_missing_module(make_function) -> None:
    fn = make_function("broken", handler="no_such_module.handler")
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ImportModuleError"
    assert "no_such_module" in result.json()["errorMessage"]


def test_init_error_without_fastfn_app(make_function) -> None:
    fn = make_function("noapp", env={"FASTFN_APP": ""})
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert "FASTFN_APP" in result.json()["errorMessage"]


def test_one_invoke_at_a_time(make_function, load_event) -> None:
    fn = make_function("serial")
    fn.invoke({"warm": 1})
    results = []

    def call() -> None:
        results.append(fn.invoke(v2(load_event, "/sleep", "s=0.4")))

    threads = [threading.Thread(target=call) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started >= 0.8
    assert all(r.function_error is None for r in results)
    assert fn.inits == 1


def test_function_url_cookies_binary_and_errors(warm_function) -> None:
    with FunctionURL(warm_function) as url, httpx.Client(base_url=url.url) as client:
        response = client.get("/cookies")
        assert response.status_code == 200
        assert len(response.headers.get_list("set-cookie")) == 2

        response = client.get("/echo/x?tag=1&tag=2", headers={"Cookie": "a=1; b=2"})
        got = response.json()
        assert got["cookies"] == {"a": "1", "b": "2"}
        assert got["query"] == "tag=1&tag=2"
        assert got["context"]["event_source"] == "aws:lambda-url"

        payload = bytes(range(256)) * 8
        response = client.post("/binary", content=payload,
                               headers={"content-type": "application/octet-stream"})
        assert response.content == payload

        assert client.get("/nothing-here").status_code == 404
        assert client.get("/fail").status_code == 502
        # keep-alive clients are not held up by Nagle's algorithm
        assert url.nodelay_values and set(url.nodelay_values) == {1}


def test_function_url_body_echo_text(warm_function) -> None:
    with FunctionURL(warm_function) as url:
        response = httpx.post(url.url + "/echo", json={"k": "v"})
        assert base64.b64decode(response.json()["body_b64"]) == b'{"k":"v"}'


def test_lifespan_startup_failure_is_an_init_error(make_function) -> None:
    fn = make_function("nostart", env={"LAMBDA_APP_FAIL_STARTUP": "1"})
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert "database unreachable" in result.json()["errorMessage"]
    assert fn.invoke({}).function_error == "Unhandled"
    assert fn.inits == 2  # init runs again on the next invoke, as on Lambda
