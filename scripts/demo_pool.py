"""The demo's seed-002 part: the TriviaPay API on a local instance pool of 2 behind the
local load balancer, a rolling update under traffic (failed requests counted), and a
one-step rollback.

`run(postgres)` is called by scripts/demo.py with its running PostgreSQL. What
`terraform apply` of the example's infra makes (load balancer, backend set with
`GET /health`, listener, instance configuration, pool, and the state object with the 21
outputs) is made on the local cloud through the oci SDK; `fastfn deploy` then reads every
input from that state object, as it does on OCI.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from demo_steps import FASTFN, ROOT, cloud_up, free_port, printable, step

TRIVIAPAY = ROOT / "examples" / "triviapay-api"
# Short waits for a demo; the manifest keeps seed 002's (drain 120 s).
QUICK = {"backend_drain_timeout_seconds": "2", "drain_delay_seconds": "1"}


def show(argv: list[str]) -> None:
    """Run a fastfn command with --json; print the rollout's report (its stderr) and a
    summary of the result (the full plan is `fastfn plan`'s)."""
    import json

    print(f"$ {shlex.join(printable(argv))}", flush=True)
    result = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=600)
    if result.stderr.strip():
        print(result.stderr.rstrip(), flush=True)
    if result.returncode != 0:
        print(result.stdout.rstrip(), flush=True)
        raise SystemExit(f"demo step failed: {shlex.join(printable(argv))}")
    out = json.loads(result.stdout)
    calls = out.get("plan", {}).get("calls", [])
    if calls:
        print("steps: " + ", ".join(c["operation"] for c in calls), flush=True)
    print(f"{out['mutating_calls']} mutating call(s)", flush=True)


@contextmanager
def traffic(port: int) -> Iterator[None]:
    """Steady GETs through the load balancer; every answer that is not a 200 counted."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.load import Load

    with Load(port, path="/health", clients=4, interval_s=0.02) as load:
        yield
    print(f"\033[1mrequests through the load balancer: {len(load.answers)}, "
          f"failed requests = {len(load.failed)}\033[0m; versions answering: "
          f"{load.versions()}", flush=True)


def get(url: str) -> None:
    print(f"$ curl -s {url}", flush=True)
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            print(f"{r.status} {r.read().decode()}", flush=True)
    except urllib.error.HTTPError as exc:
        print(f"{exc.code} {exc.read().decode()}", flush=True)


def post(url: str, body: str) -> None:
    print(f"$ curl -s -X POST {url} -d '{body}'", flush=True)
    import urllib.request

    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        print(f"{r.status} {r.read().decode()}", flush=True)


def wait_healthy(target: Any, lb_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while target.clients.lb.get_backend_set_health(lb_id, "api-backend").data.status != "OK":
        if time.monotonic() > deadline:
            raise SystemExit("the local pool never became healthy")
        time.sleep(0.2)


def run(postgres: Any) -> None:
    from fastfn.deploy.targets.pool import local_pool_target
    from fastfn.deploy.targets.pool.local import provision_local_stack
    from fastfn.manifest import load

    step("Seed 002: the TriviaPay API on a local instance pool of 2 behind the local "
         "load balancer")
    login = postgres.ensure_database("triviapay", "triviapay_user", secrets.token_urlsafe(16))
    work = Path(tempfile.mkdtemp(prefix="fastfn-demo-pool-"))
    service = work / "triviapay-api"
    shutil.copytree(TRIVIAPAY, service, ignore=shutil.ignore_patterns("__pycache__",
                                                                      ".fastfn", "infra"))
    state = work / "cloud"
    # The instances get the DSN from the cloud's environment (the manifest's secret is the
    # reference env:TRIVIAPAY_DATABASE_URL), never from a command line or a config file.
    env = dict(os.environ, TRIVIAPAY_DATABASE_URL=login.dsn)
    log = (work / "cloud.log").open("w")
    try:
        with cloud_up(state, "--proxy-port", "0", env=env, log=log):
            # cloud-init mounts APP_LOG_PATH's directory on a VM; here it is the demo's own.
            (work / "log").mkdir()
            overrides = {**QUICK, "app_log_path": str(work / "log" / "app.log")}
            sets = [arg for key, value in overrides.items() for arg in ("--set", f"{key}={value}")]
            target = local_pool_target(state, overrides=overrides)
            desired = target.desired(load(service), service, None)
            listen = free_port()
            print("what `terraform apply` makes, on the local cloud: load balancer, backend set "
                  "(GET /health), listener, instance configuration, pool of 2, state object")
            stack = provision_local_stack(state, service, "main:app", service="triviapay",
                                          listen_port=listen, backend_port=desired.section.port,
                                          size=2, instance=desired.instance,
                                          repo="local.ocir.io/fastfn/triviapay-api")
            try:
                wait_healthy(target, stack.outputs.lb_id)
            except SystemExit:
                print((work / "cloud.log").read_text()[-3000:], file=sys.stderr)
                raise
            base = stack.listener_url
            print(f"load balancer listener: {base}   Terraform state: "
                  f"oci://tfstate/{stack.state_key}")
            get(base + "/health")
            get(base + "/health/db")
            post(base + "/players", '{"name": "Ada"}')

            where = [os.path.relpath(service), "--cloud-state", str(state), *sets]
            step("fastfn deploy: the pool already runs this version (nothing to do)")
            show([*FASTFN, "deploy", *where])

            step("A new version (APP_VERSION 2): a rolling update under traffic")
            manifest = service / "fastfn.yaml"
            manifest.write_text(manifest.read_text().replace('APP_VERSION: "1"',
                                                             'APP_VERSION: "2"'))
            with traffic(listen):
                time.sleep(0.5)
                show([*FASTFN, "deploy", *where])
                time.sleep(0.5)
            get(base + "/health")

            step("fastfn rollback: the previous instance configuration, in one command")
            with traffic(listen):
                time.sleep(0.5)
                show([*FASTFN, "rollback", *where])
                time.sleep(0.5)
            get(base + "/health")
            lines = (work / "log" / "app.log").read_text().splitlines()
            print(f"APP_LOG_PATH: {len(lines)} JSON lines written by the instances", flush=True)
    finally:
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":

    from fastfn.localcloud.postgres import LocalPostgres

    data = Path(tempfile.mkdtemp(prefix="fastfn-demo-pg-"))
    server = LocalPostgres(data)
    try:
        server.start()
        run(server)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
