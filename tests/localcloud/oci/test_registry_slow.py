"""A slow registry does not stall the local cloud: the Functions service asks the
registry (pinning a function's digest at create/update, resolving its image at invoke)
from a worker thread, so other calls are answered meanwhile.

The registry here is a real HTTP server on loopback that holds each request until the
test lets it go (then answers 404 MANIFEST_UNKNOWN, as docker-registry does for an
unknown tag)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import oci
import pytest
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
    UpdateContainerImageFunctionSourceDetails,
    UpdateFunctionDetails,
)

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.functions.resolve import RegistryResolver

HOLD_S = 60.0  # the longest the registry holds a request (the test releases it sooner)


class HeldRegistry:
    """Answers /v2/... only once `release` is set; `asked` is set on each request."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                held.asked.set()
                held.release.wait(HOLD_S)
                body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN",
                                               "message": "manifest unknown"}]}).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold(self) -> None:
        self.asked.clear()
        self.release.clear()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held() -> Iterator[HeldRegistry]:
    registry = HeldRegistry()
    yield registry
    registry.close()


@pytest.fixture
def cloud(tmp_path: Path, held: HeldRegistry) -> Iterator[LocalCloud]:
    with LocalCloud(tmp_path / "state") as running:
        # What `registry=True` wires up, pointed at the slow registry instead.
        running.services.functions.registry = RegistryResolver(held.address)
        yield running


def _while_held(held: HeldRegistry, pool: ThreadPoolExecutor, slow: Future[object],
                cloud: LocalCloud, app_id: str) -> None:
    """With the registry holding `slow`'s lookup, another call is answered."""
    assert held.asked.wait(30), "the registry was not asked"
    management = cloud.client(oci.functions.FunctionsManagementClient)
    management.base_client.timeout = (5, 30)
    other = pool.submit(management.get_application, app_id)
    assert other.result(timeout=HOLD_S / 2).data.id == app_id
    assert not slow.done(), "the registry lookup ended before the other call"
    held.release.set()


def test_other_calls_are_answered_while_the_registry_is_slow(
        cloud: LocalCloud, held: HeldRegistry) -> None:
    management = cloud.client(oci.functions.FunctionsManagementClient)
    management.base_client.timeout = (5, 120)
    app_id = management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="slow-registry",
        shape="GENERIC_X86", subnet_ids=[cloud.subnet_id])).data.id
    image = "local.ocir.io/fastfnlocal/slow:1"
    with ThreadPoolExecutor(2) as pool:
        # create_function pins the digest: the registry is asked, and holds.
        held.hold()
        created = pool.submit(management.create_function, CreateFunctionDetails(
            display_name="slow", application_id=app_id, memory_in_mbs=128,
            source_details=CreateContainerImageFunctionSourceDetails(image=image)))
        _while_held(held, pool, created, cloud, app_id)  # type: ignore[arg-type]
        fn = created.result(timeout=HOLD_S).data
        assert fn.source_details.image_digest is None  # unknown tag: accepted, not pinned

        # update_function pins again, outside the store's transaction.
        held.hold()
        updated = pool.submit(management.update_function, fn.id, UpdateFunctionDetails(
            source_details=UpdateContainerImageFunctionSourceDetails(image=image + "0")))
        _while_held(held, pool, updated, cloud, app_id)  # type: ignore[arg-type]
        updated.result(timeout=HOLD_S)
        assert management.get_function(fn.id).data.source_details.image == image + "0"

        # The invoke resolves the image: held, then the pull error OCI gives.
        held.hold()
        invoker = oci.functions.FunctionsInvokeClient(cloud.config,
                                                      service_endpoint=cloud.endpoint)
        invoker.base_client.timeout = (5, 120)
        invoked = pool.submit(invoker.invoke_function, fn.id, invoke_function_body="{}",
                              retry_strategy=oci.retry.NoneRetryStrategy())
        _while_held(held, pool, invoked, cloud, app_id)  # type: ignore[arg-type]
        with pytest.raises(oci.exceptions.ServiceError) as failed:
            invoked.result(timeout=HOLD_S)
        assert (failed.value.status, failed.value.code) == (
            502, "FunctionInvokeImageNotAvailable")
