"""The container's life under the Fn http-stream contract.

Order matters: run the app's lifespan startup (once per container), bind the phony socket,
and only then publish `lsnr.sock`, so the agent's first dial always finds a listening
socket with mode 0666 and an app that is ready. SIGTERM: stop accepting, let the call in
flight finish, run lifespan shutdown, remove the socket files, exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from fastfn.runtime.asgi.host import AppHost
from fastfn.runtime.fn import listener
from fastfn.runtime.fn.bridge import FnConfig
from fastfn.runtime.fn.server import FnServer
from fastfn.runtime.lifespan import LifespanError

log = logging.getLogger("fastfn.serve")

# The agent gives up on a container that is not listening within this many seconds.
AGENT_INIT_TIMEOUT_S = 5.0
SHUTDOWN_GRACE_S = 10.0


async def serve(host: AppHost, config: FnConfig, paths: listener.ListenerPaths,
                started: float | None = None) -> int:
    started = time.perf_counter() if started is None else started
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    try:
        await host.start()
    except LifespanError as exc:
        log.error(str(exc))
        return 3

    try:
        sock = listener.bind(paths)
    except (listener.ListenerError, OSError) as exc:
        log.error("cannot listen on %s: %s", paths.phony, exc)
        await host.stop()
        return 2
    fn_server = FnServer(host, config)
    server = await loop.create_unix_server(fn_server.protocol, sock=sock)
    listener.publish(paths)
    ready_ms = (time.perf_counter() - started) * 1000
    log.info("listening", extra={"socket": str(paths.listener), "ready_ms": round(ready_ms, 1)})
    if ready_ms > AGENT_INIT_TIMEOUT_S * 1000 * 0.6:
        log.warning("start-up took %.0f ms; the Fn agent gives up after %.0f s",
                    ready_ms, AGENT_INIT_TIMEOUT_S)

    await stop.wait()
    log.info("SIGTERM: draining")
    server.close()
    listener.remove(paths)
    fn_server.close_idle_connections()
    try:
        await asyncio.wait_for(fn_server.idle.wait(), SHUTDOWN_GRACE_S)
    except TimeoutError:
        log.warning("a call was still running after %.0f s; shutting down anyway",
                    SHUTDOWN_GRACE_S)
    for conn in list(fn_server.connections):
        conn.close()
    await host.stop()
    log.info("stopped")
    return 0
