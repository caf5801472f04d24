"""The Fn server's per-call path in-process: one agent call through `_handle` (build the
ASGI scope, run the app through the shared cycle, encode the outer response), no sockets:
a bare ASGI app, a FastAPI GET and a FastAPI POST reading its JSON body.

Deterministic enough to compare two source trees on a busy machine, where the socket bench
(`bench/fn_runtime.py`) swings with other load. Process CPU time per call, medians of
rounds; run it once per tree and compare:

    PYTHONPATH=<tree>/src .venv/bin/python bench/fn_call_path.py
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastfn.runtime.fn import server
from fastfn.runtime.fn.bridge import FnConfig


async def bare(scope: dict, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def fastapi_app() -> Any:
    from fastapi import FastAPI, Request

    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict:
        return {"ok": True}

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        data = await request.json()
        return {"fields": len(data)}

    return app


JSON_BODY = b'{"name": "pen", "price": 1.5, "tags": ["office", "blue"]}'


def protocol(app: Any) -> Any:
    try:
        from fastfn.runtime.asgi.host import AppHost
    except ImportError:  # a tree from before the shared cycle
        return server.CallProtocol(server.FnServer(app, FnConfig(), {}))  # type: ignore[arg-type]
    return server.CallProtocol(server.FnServer(AppHost(app), FnConfig()))


async def measure(app: Any, rounds: int, calls: int, post: bool = False) -> list[float]:
    proto = protocol(app)
    deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    method, url, body = (b"POST", b"/echo", JSON_BODY) if post else (b"GET", b"/hello", b"")
    headers = [(b"fn-call-id", b"c1"), (b"fn-deadline", deadline.encode()),
               (b"fn-intent", b"httprequest"), (b"fn-http-method", method),
               (b"fn-http-request-url", url), (b"host", b"localhost")]
    if body:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]
    call = server._Call(b"POST", b"/call", headers, body, len(body), True)
    first = await proto._handle(call)
    if b" 200 " not in first.split(b"\r\n", 1)[0]:
        raise SystemExit(f"{method.decode()} {url.decode()}: {first[:300]!r}")
    for _ in range(calls // 2):
        await proto._handle(call)
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            await proto._handle(call)
        samples.append((time.process_time() - started) / calls * 1e6)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    logging.getLogger("fastfn.call").setLevel(logging.WARNING)  # no access lines
    import uvloop

    fastapi = fastapi_app()
    cases = (("bare ASGI", bare, False), ("FastAPI GET", fastapi, False),
             ("FastAPI POST json", fastapi, True))
    medians = {}
    for name, app, post in cases:
        samples = uvloop.run(measure(app, args.rounds, args.calls, post))
        medians[name] = statistics.median(samples)
        print(f"{name:18} median {medians[name]:7.1f} us/call  "
              f"min {min(samples):7.1f}  ({args.rounds} rounds x {args.calls} calls)")
    print(f"POST with `await request.json()` / GET: "
          f"{medians['FastAPI POST json'] / medians['FastAPI GET']:.2f}")


if __name__ == "__main__":
    main()
