"""The Runtime API server on its own, spoken to as a runtime client would."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from fastfn.localcloud.aws.runtime_api import PREFIX, Invocation, RuntimeAPI


def test_next_response_and_headers() -> None:
    api = RuntimeAPI()
    try:
        base = f"http://{api.address}{PREFIX}"
        invocation = Invocation("req-1", b'{"a": 1}', "arn:aws:lambda:r:1:function:f", 3.0)
        api.submit(invocation)
        with httpx.Client() as client:
            got = client.get(f"{base}/invocation/next")
            assert got.status_code == 200 and got.content == b'{"a": 1}'
            assert got.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
            assert got.headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:f")
            deadline_ms = int(got.headers["Lambda-Runtime-Deadline-Ms"])
            assert 2000 < deadline_ms - time.time() * 1000 <= 3000
            assert got.headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")

            wrong = client.post(f"{base}/invocation/other/response", content=b"{}")
            assert wrong.status_code == 400
            assert wrong.json()["errorType"] == "InvalidRequestID"
            assert client.post(f"{base}/nothing", content=b"").status_code == 404

            ok = client.post(f"{base}/invocation/req-1/response", content=b'"done"')
            assert ok.status_code == 202
            assert invocation.done.is_set() and invocation.body == b'"done"'
            again = client.post(f"{base}/invocation/req-1/response", content=b'"twice"')
            assert again.status_code == 400
        assert api.nodelay_values and set(api.nodelay_values) == {1}
    finally:
        api.close()


def test_error_and_init_error() -> None:
    api = RuntimeAPI()
    try:
        base = f"http://{api.address}{PREFIX}"
        invocation = Invocation("req-2", b"{}", "arn", 3.0)
        api.submit(invocation)
        with httpx.Client() as client:
            client.get(f"{base}/invocation/next")
            got = client.post(f"{base}/invocation/req-2/error",
                              headers={"Lambda-Runtime-Function-Error-Type": "Unhandled"},
                              content=b'{"errorMessage": "x"}')
            assert got.status_code == 202
            assert invocation.error_type == "Unhandled"
            got = client.post(f"{base}/init/error", content=b'{"errorMessage": "bad"}',
                              headers={"Lambda-Runtime-Function-Error-Type": "Runtime.X"})
            assert got.status_code == 202
        assert api.init_failed.is_set() and api.init_error_type == "Runtime.X"
    finally:
        api.close()


def test_next_long_polls_until_an_invoke() -> None:
    api = RuntimeAPI()
    try:
        got: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: got.append(
            httpx.get(f"http://{api.address}{PREFIX}/invocation/next", timeout=10)))
        thread.start()
        time.sleep(0.3)
        assert not got
        api.submit(Invocation("req-3", b"[]", "arn", 3.0))
        thread.join(5)
        assert got and got[0].headers["Lambda-Runtime-Aws-Request-Id"] == "req-3"
    finally:
        api.close()


def test_sigterm_runs_lifespan_shutdown(make_function, tmp_path) -> None:
    marker = tmp_path / "shutdown.txt"
    fn = make_function("term", env={"LAMBDA_APP_SHUTDOWN_FILE": str(marker)})
    assert fn.invoke({"n": 1}).function_error is None
    process = fn._env.process  # the environment's process, as Lambda's shutdown sees it
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert marker.read_text() == f"shutdown {process.pid}\n"


def test_response_over_6_mib_is_an_error(make_function, load_event) -> None:
    fn = make_function("big")
    event = load_event("http_v2") | {"rawPath": "/big", "rawQueryString": "mb=7"}
    result = fn.invoke(event)
    assert result.function_error == "Unhandled"
    assert "too_large" in result.json()["errorMessage"]
