"""The local load balancer through the real oci SDK, with real backend processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import oci
import pytest
from oci.load_balancer.models import (
    BackendDetails,
    BackendSetDetails,
    CreateBackendSetDetails,
    CreateListenerDetails,
    CreateLoadBalancerDetails,
    HealthCheckerDetails,
    ListenerDetails,
    UpdateBackendDetails,
)

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.loadbalancer.health import backend_set_status

APPS = Path(__file__).parent / "apps"
IPS = ("127.0.0.2", "127.0.0.3")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def backends() -> Iterator[tuple[int, dict[str, subprocess.Popen[bytes]]]]:
    port = free_port()
    procs = {}
    for n, ip in enumerate(IPS):
        env = {**os.environ, "HOST": ip, "PORT": str(port), "INSTANCE_NAME": f"i{n}"}
        procs[ip] = subprocess.Popen([sys.executable, "-m", "fastfn", "serve", "poolapp:app",
                                      "--http"], cwd=APPS, env=env)
    yield port, procs
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def get(url: str, timeout: float = 10.0) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_backends_health_drain_and_kill(cloud: LocalCloud, backends) -> None:  # type: ignore[no-untyped-def]
    port, procs = backends
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient)
    listen = free_port()
    hc = HealthCheckerDetails(protocol="HTTP", url_path="/health", return_code=200,
                              interval_in_millis=200, timeout_in_millis=1000, retries=2)
    created = lbc.create_load_balancer(CreateLoadBalancerDetails(
        compartment_id=cloud.compartment_id, display_name="api-lb", shape_name="flexible",
        subnet_ids=[]))
    wr_id = created.headers["opc-work-request-id"]
    assert wr_id.startswith("ocid1.loadbalancerworkrequest.")
    wr = lbc.get_work_request(wr_id).data
    assert wr.lifecycle_state == "SUCCEEDED"
    lb_id = wr.load_balancer_id
    lbc.create_backend_set(CreateBackendSetDetails(
        name="api", policy="ROUND_ROBIN", health_checker=hc,
        backends=[BackendDetails(ip_address=ip, port=port) for ip in IPS]), lb_id)
    lbc.create_listener(CreateListenerDetails(name="http", default_backend_set_name="api",
                                              port=listen, protocol="HTTP"), lb_id)
    names = [f"{ip}:{port}" for ip in IPS]

    def health(name: str) -> str:
        return str(lbc.get_backend_health(lb_id, "api", name).data.status)

    wait_for(lambda: all(health(n) == "OK" for n in names))
    assert lbc.get_backend_set_health(lb_id, "api").data.status == "OK"

    url = f"http://127.0.0.1:{listen}"
    seen = {get(url + "/whoami")[1]["instance"] for _ in range(6)}
    assert seen == {"i0", "i1"}

    # Drain the backend of an in-flight request: it finishes, and no new request goes there.
    result: dict[str, str] = {}
    slow = threading.Thread(target=lambda: result.update(get(url + "/slow?seconds=1.5")[1]))
    slow.start()
    time.sleep(0.3)
    busy = {"i0": names[0], "i1": names[1]}
    # Six /whoami requests went round robin, so the seventh (slow) one went to the first.
    target = names[0]
    lbc.update_backend(UpdateBackendDetails(weight=1, backup=False, drain=True, offline=False),
                       lb_id, "api", target)
    others = {get(url + "/whoami")[1]["instance"] for _ in range(6)}
    slow.join()
    drained = next(k for k, v in busy.items() if v == target)
    assert result["instance"] == drained
    assert drained not in others and len(others) == 1

    # Undrain; kill the other instance: its backend turns CRITICAL and gets no traffic.
    lbc.update_backend(UpdateBackendDetails(weight=1, backup=False, drain=False, offline=False),
                       lb_id, "api", target)
    victim = next(n for n in names if n != target)
    procs[victim.split(":")[0]].kill()
    wait_for(lambda: health(victim) == "CRITICAL")
    assert lbc.get_backend_set_health(lb_id, "api").data.status == "WARNING"
    codes = [get(url + "/whoami") for _ in range(6)]
    assert all(c == 200 and b["instance"] == drained for c, b in codes)

    # Remove the last healthy backend: the listener answers 502.
    lbc.delete_backend(lb_id, "api", target)
    assert get(url + "/whoami")[0] == 502
    wrs = lbc.list_work_requests(lb_id).data
    assert {w.type for w in wrs} >= {"CreateBackendSet", "UpdateBackend", "DeleteBackend"}


def test_update_backend_requires_all_four(cloud: LocalCloud) -> None:
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient,
                       retry_strategy=oci.retry.NoneRetryStrategy())
    created = lbc.create_load_balancer(CreateLoadBalancerDetails(
        compartment_id=cloud.compartment_id, display_name="lb", shape_name="flexible",
        subnet_ids=[]))
    lb_id = lbc.get_work_request(created.headers["opc-work-request-id"]).data.load_balancer_id
    lbc.create_backend_set(CreateBackendSetDetails(
        name="api", health_checker=HealthCheckerDetails(protocol="HTTP", url_path="/health"),
        backends=[BackendDetails(ip_address="127.0.0.9", port=9)]), lb_id)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        lbc.update_backend(UpdateBackendDetails(weight=1, backup=False, drain=True),
                           lb_id, "api", "127.0.0.9:9")
    assert err.value.status == 400 and "offline" in err.value.message


def oci_cli(cloud: LocalCloud, *args: str) -> dict:  # type: ignore[type-arg]
    # scripts/setup.sh installs the CLI in a venv of its own (see test_oci_cli.py).
    cli = Path(__file__).resolve().parents[3] / ".tools" / "oci-cli" / "bin" / "oci"
    assert cli.exists(), "the oci CLI is missing; run scripts/setup.sh"
    env = {**os.environ, "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True"}
    done = subprocess.run([str(cli), *args, "--config-file", str(cloud.config_file),
                           "--endpoint", cloud.endpoint], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.mark.slow
def test_cli_adds_and_drains_a_backend(cloud: LocalCloud) -> None:
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient)
    created = lbc.create_load_balancer(CreateLoadBalancerDetails(
        compartment_id=cloud.compartment_id, display_name="cli-lb", shape_name="flexible",
        subnet_ids=[]))
    lb_id = lbc.get_work_request(created.headers["opc-work-request-id"]).data.load_balancer_id
    lbc.create_backend_set(CreateBackendSetDetails(
        name="api", health_checker=HealthCheckerDetails(protocol="HTTP", url_path="/health",
                                                        return_code=200)), lb_id)
    oci_cli(cloud, "lb", "backend", "create", "--load-balancer-id", lb_id,
            "--backend-set-name", "api", "--ip-address", "127.0.0.9", "--port", "9",
            "--weight", "3")
    oci_cli(cloud, "lb", "backend", "update", "--load-balancer-id", lb_id,
            "--backend-set-name", "api", "--backend-name", "127.0.0.9:9", "--weight", "3",
            "--backup", "false", "--drain", "true", "--offline", "false")
    listed = oci_cli(cloud, "lb", "backend", "list", "--load-balancer-id", lb_id,
                     "--backend-set-name", "api")["data"]
    assert [(b["name"], b["weight"], b["drain"]) for b in listed] == [("127.0.0.9:9", 3, True)]
    health = oci_cli(cloud, "lb", "backend-health", "get", "--load-balancer-id", lb_id,
                     "--backend-set-name", "api", "--backend-name", "127.0.0.9:9")["data"]
    assert health["status"] in ("UNKNOWN", "CRITICAL")


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], "UNKNOWN"), (["OK", "OK"], "OK"), (["OK", "CRITICAL"], "WARNING"),
    (["OK", "CRITICAL", "CRITICAL"], "CRITICAL"), (["UNKNOWN", "UNKNOWN", "OK"], "UNKNOWN"),
    (["OK", "OK", "UNKNOWN"], "WARNING"),
])
def test_backend_set_status_rules(statuses: list[str], expected: str) -> None:
    assert backend_set_status(statuses) == expected


def test_listener_on_a_taken_port_is_refused(cloud: LocalCloud) -> None:
    lbc = cloud.client(oci.load_balancer.LoadBalancerClient,
                       retry_strategy=oci.retry.NoneRetryStrategy())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(oci.exceptions.ServiceError) as err:
            lbc.create_load_balancer(CreateLoadBalancerDetails(
                compartment_id=cloud.compartment_id, display_name="lb", shape_name="flexible",
                subnet_ids=[], backend_sets={"api": BackendSetDetails(
                    health_checker=HealthCheckerDetails(protocol="HTTP", url_path="/"))},
                listeners={"h": ListenerDetails(default_backend_set_name="api", port=port,
                                                protocol="HTTP")}))
    assert err.value.status == 409 and str(port) in err.value.message
    assert lbc.list_load_balancers(cloud.compartment_id).data == []
