"""Per-event overhead of the Lambda handler over a bare ASGI call, fastfn vs Mangum 0.22
(lifespan on, its default), and cold init to first response under awslambdaric.

Run by hand (not a test):

    bash bench/setup_lambda.sh && bench/.venvs/lambda/bin/python bench/lambda_runtime.py

The same app (bench/apps/lambda_app.py) and the same events for every target. Targets are
interleaved round by round (rotated) and per-event medians over rounds are reported; the
overhead is a target's time per event minus the bare ASGI call's on the same request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
APPS = HERE / "apps"
sys.path.insert(0, str(APPS))


def _context() -> object:
    from awslambdaric.lambda_context import LambdaContext

    return LambdaContext(str(uuid.uuid4()), None, None, int((time.time() + 60) * 1000),
                         "arn:aws:lambda:us-east-1:123456789012:function:bench")


def events() -> dict[str, dict]:
    v2 = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/hello", "rawQueryString": "",
        "headers": {"host": "x.lambda-url.us-east-1.on.aws", "accept": "*/*"},
        "requestContext": {"domainName": "x.lambda-url.us-east-1.on.aws", "stage": "$default",
                           "http": {"method": "GET", "path": "/hello", "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.1"}, "requestId": "r"},
        "isBase64Encoded": False,
    }
    v1 = {
        "resource": "/hello", "path": "/hello", "httpMethod": "GET",
        "headers": {"Host": "a.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"},
        "multiValueHeaders": {"Host": ["a.execute-api.us-east-1.amazonaws.com"],
                              "Accept": ["*/*"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "requestContext": {"path": "/hello", "stage": "prod", "httpMethod": "GET",
                           "identity": {"sourceIp": "203.0.113.1"}, "requestId": "r"},
        "body": None, "isBase64Encoded": False,
    }
    return {"http_v2": v2, "rest_v1": v1}


def bare_call(app: object) -> Callable[[dict, object], object]:
    """The app called directly with a ready scope: the floor every handler adds to."""
    loop = asyncio.new_event_loop()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "https", "path": "/hello", "raw_path": b"/hello",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"x"),
                                                                 (b"accept", b"*/*")],
             "client": None, "server": None, "state": {"pool": "pool"}}

    async def call() -> bytes:
        sent: list[bytes] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))

        await app(dict(scope), receive, send)  # type: ignore[operator]
        return b"".join(sent)

    return lambda event, context: loop.run_until_complete(call())


def targets() -> dict[str, Callable[[dict, object], object]]:
    from lambda_app import app
    from mangum import Mangum

    from fastfn.runtime.aws.runtime import LambdaRuntime

    return {"bare": bare_call(app), "fastfn": LambdaRuntime(app), "mangum": Mangum(app)}


def per_event(handlers: dict, event: dict, count: int, rounds: int) -> dict[str, float]:
    context = _context()
    samples: dict[str, list[float]] = {name: [] for name in handlers}
    names = list(handlers)
    for name in names:  # warm-up, and a check that each answers
        result = handlers[name](event, context)
        if name != "bare":
            assert result["statusCode"] == 200, (name, result)
    for index in range(rounds):
        order = names[index % len(names):] + names[: index % len(names)]
        for name in order:
            handler = handlers[name]
            started = time.perf_counter()
            for _ in range(count):
                handler(event, context)
            samples[name].append((time.perf_counter() - started) / count * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def cold_init(repeats: int) -> list[float]:
    from fastfn.localcloud.aws.lambda_ import LocalFunction

    logs = tempfile.mkdtemp(prefix="fastfn-bench-lambda-")
    times = []
    for _ in range(repeats):
        fn = LocalFunction("bench", "fastfn.runtime.aws.handler.handler", str(APPS),
                           environment={"FASTFN_APP": "lambda_app:app"}, log_dir=logs,
                           timeout_s=30)
        try:
            started = time.perf_counter()
            result = fn.invoke(events()["http_v2"])
            times.append((time.perf_counter() - started) * 1000)
            assert result.function_error is None, result
        finally:
            fn.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="invokes per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cold", type=int, default=5, help="cold starts to time")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # Mangum logs each lifespan cycle

    handlers = targets()
    report: dict = {"per_event_us": {}, "cold_init_ms": None}
    print(f"per-event time, median of {args.rounds} rounds x {args.count} invokes (us)")
    print(f"{'event':<9}{'bare':>8}{'fastfn':>9}{'mangum':>9}{'fastfn+':>9}{'mangum+':>9}"
          f"{'ratio':>7}")
    for name, event in events().items():
        got = per_event(handlers, event, args.count, args.rounds)
        ours, theirs = got["fastfn"] - got["bare"], got["mangum"] - got["bare"]
        ratio = ours / theirs if theirs > 0 else float("nan")
        report["per_event_us"][name] = got | {"fastfn_overhead": ours,
                                              "mangum_overhead": theirs, "ratio": ratio}
        print(f"{name:<9}{got['bare']:>8.1f}{got['fastfn']:>9.1f}{got['mangum']:>9.1f}"
              f"{ours:>9.1f}{theirs:>9.1f}{ratio:>7.2f}")
    if args.cold:
        times = cold_init(args.cold)
        report["cold_init_ms"] = times
        print(f"cold init to first response under awslambdaric (local Runtime API), "
              f"{len(times)} starts: median {statistics.median(times):.0f} ms, "
              f"min {min(times):.0f}, max {max(times):.0f}")
    print(json.dumps(report))
    handlers["fastfn"].stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
