"""A rolling update of a local instance pool under a steady request rate through the
local load balancer: fastfn's health-gated rollout vs seed 002's fixed-wait sequence.

Run by hand (not a test):

    .venv/bin/python bench/pool_rollout.py [--size 1] [--fixed-wait 60] [--rate 50]

Each run gets a fresh local cloud and stack (the load balancer with `GET /health` every
`--health-interval-ms`, the pool of `--size` on v1), then rolls out v2 while `--clients`
keep-alive clients send `GET /whoami` at `--rate` requests/s in total, counting failed
requests (anything but a 200) and the wall time of the rollout:

- anchor (seed 002's sequence with fixed waits): the new configuration and size N+1,
  sleep `--fixed-wait` seconds, detach+terminate the old instances (no drain), size N;
- anchor with a short wait (`--short-wait`): the same sequence when the sleep is shorter
  than the new instance needs to get healthy;
- fastfn: `fastfn deploy --target pool` (surge, wait for the new backends healthy by
  private IP, drain, `--drain` seconds, terminate, back to N).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "apps" / "pool"
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))  # support.load: the shared load generator


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manifest(port: int, drain: float) -> str:
    return json.dumps({"name": "bench", "app": "main:app", "target": "pool",
                       "pool": {"port": port, "backend_drain_timeout_seconds": drain,
                                "max_wait_seconds": 300, "lb_wait_timeout_seconds": 120,
                                "drain_delay_seconds": 1}})


def fixed_wait_rollout(target: object, outputs: object, service: Path, wait_s: float,
                       size: int) -> None:
    """Seed 002's sequence: new configuration + scale to N+1, sleep, terminate, N."""
    import oci

    from fastfn.deploy.targets.pool.configuration import launch_details
    from fastfn.deploy.targets.pool.local import LocalPoolImages

    clients = target.clients  # type: ignore[attr-defined]
    images: LocalPoolImages = target.builder  # type: ignore[attr-defined]
    artifact = images.snapshot("local.ocir.io/fastfn/bench:v2", service, "main:app")
    images.put(artifact, service, "main:app")
    from fastfn.deploy.targets.pool.settings import InstanceSettings

    details = launch_details(outputs, f"{artifact.image}@{artifact.digest}",  # type: ignore[arg-type]
                             "bench", "v2", InstanceSettings(drain_delay_s=1))
    from fastfn.deploy.targets.pool.configuration import sdk_details

    m = oci.core.models
    config = clients.management.create_instance_configuration(sdk_details(m, details)).data
    pool_id = outputs.instance_pool_id  # type: ignore[attr-defined]
    compartment = outputs.compartment_id  # type: ignore[attr-defined]
    old = [i.id for i in clients.management.list_instance_pool_instances(
        compartment, pool_id).data]
    clients.management.update_instance_pool(pool_id, m.UpdateInstancePoolDetails(
        instance_configuration_id=config.id, size=size + len(old)))
    time.sleep(wait_s)
    for instance_id in old:
        wr = clients.management.detach_instance_pool_instance(
            pool_id, m.DetachInstancePoolInstanceDetails(
                instance_id=instance_id, is_decrement_size=True, is_auto_terminate=True))
        wr_id = wr.headers["opc-work-request-id"]
        while clients.work.get_work_request(wr_id).data.status != "SUCCEEDED":
            time.sleep(0.2)


def one_run(kind: str, args: argparse.Namespace) -> dict[str, object]:
    from typer.testing import CliRunner

    from fastfn.cli import app
    from fastfn.deploy.targets.pool import local_pool_target
    from fastfn.deploy.targets.pool.local import provision_local_stack
    from fastfn.localcloud.oci import LocalCloud
    from fastfn.manifest import load

    from support.load import Load

    work = Path(tempfile.mkdtemp(prefix="fastfn-pool-bench-"))
    try:
        service = work / "bench"
        shutil.copytree(APP, service, ignore=shutil.ignore_patterns("__pycache__"))
        port = free_port()
        (service / "fastfn.yaml").write_text(manifest(port, args.drain))
        state = work / "cloud"
        with LocalCloud(state):
            target = local_pool_target(state)
            desired = target.desired(load(service), service, None)
            stack = provision_local_stack(
                state, service, "main:app", service="bench", listen_port=free_port(),
                backend_port=port, size=args.size,
                health_interval_ms=args.health_interval_ms, instance=desired.instance)
            lb_port = int(stack.listener_url.rsplit(":", 1)[1])
            deadline = time.monotonic() + 120
            while target.clients.lb.get_backend_set_health(
                    stack.outputs.lb_id, "api-backend").data.status != "OK":
                if time.monotonic() > deadline:
                    raise SystemExit("the stack never became healthy")
                time.sleep(0.1)
            (service / "VERSION").write_text("v2\n")
            with Load(lb_port, clients=args.clients,
                      interval_s=args.clients / args.rate) as load_:
                time.sleep(1.0)
                began = time.monotonic()
                if kind == "fastfn":
                    result = CliRunner().invoke(app, ["deploy", str(service),
                                                      "--cloud-state", str(state)])
                    if result.exit_code != 0:
                        raise SystemExit(result.output)
                else:
                    wait = args.fixed_wait if kind == "anchor" else args.short_wait
                    fixed_wait_rollout(target, stack.outputs, service, wait, args.size)
                wall = time.monotonic() - began
                time.sleep(1.0)
        return {"kind": kind, "wall_s": round(wall, 2), "ok": load_.ok,
                "failed": len(load_.failed), "statuses": load_.statuses()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1)
    parser.add_argument("--fixed-wait", type=float, default=60.0,
                        help="the anchor's sleep (seed 002: 60 s)")
    parser.add_argument("--short-wait", type=float, default=0.5)
    parser.add_argument("--drain", type=float, default=5.0,
                        help="BACKEND_DRAIN_TIMEOUT_SECONDS for fastfn's rollout")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--health-interval-ms", type=int, default=1000)
    parser.add_argument("--only", default="anchor,short,fastfn")
    args = parser.parse_args()
    import logging
    import os

    logging.disable(logging.WARNING)
    os.environ["FASTFN_LOG_LEVEL"] = "WARNING"  # the instances inherit it: no access log
    runs = [one_run(kind, args) for kind in args.only.split(",")]
    print(f"pool of {args.size}, {args.rate:g} req/s through the local LB, health check "
          f"every {args.health_interval_ms} ms, fastfn drain {args.drain:g} s")
    print(f"{'run':<10} {'wall s':>8} {'ok':>7} {'failed':>7}  statuses")
    for run in runs:
        print(f"{run['kind']:<10} {run['wall_s']:>8} {run['ok']:>7} {run['failed']:>7}  "
              f"{run['statuses']}")
    by = {r["kind"]: r for r in runs}
    if "anchor" in by and "fastfn" in by:
        ratio = float(by["fastfn"]["wall_s"]) / float(by["anchor"]["wall_s"])  # type: ignore[arg-type]
        print(f"wall time fastfn / anchor (fixed {args.fixed_wait:g} s): {ratio:.2f}")


if __name__ == "__main__":
    main()
