"""The README's demo: the seeds' services on the local cloud, start to finish.

1. Seed 001: starts a real PostgreSQL, runs `fastfn dev examples/items` (the local Fn
   platform behind the local API gateway), shows with curl the app's real 201, 422 and 404
   through the gateway, a direct invoke with `fastfn invoke` (the default route, as
   `oci fn function invoke` reaches it), and the rows read back with the seed's query.
2. Seed 003: a usage report uploaded to the local Object Storage is mailed by the function
   the event runs (examples/usage-report-mailer/demo.py).
3. `fastfn deploy` puts the items service on the local OCI cloud; `fastfn plan` then has
   nothing to do and `fastfn drift` finds nothing.
4. Seed 004 on the embedded AWS: scripts/demo_lambda.py.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo_steps import FASTFN, ROOT, cloud_up, printable, step, stop

from fastfn.localcloud.postgres import LocalPostgres

ITEMS = ROOT / "examples" / "items"


def show(argv: list[str], env: dict[str, str] | None = None) -> str:
    print(f"$ {shlex.join(printable(argv))}", flush=True)
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    print(result.stdout.rstrip(), flush=True)
    if result.returncode != 0:
        print(result.stderr.rstrip(), file=sys.stderr)
        raise SystemExit(f"demo step failed: {shlex.join(printable(argv))}")
    return result.stdout


def curl(*args: str) -> str:
    return show(["curl", "-sS", "-i", *args])


def mailer_demo() -> None:
    step("Seed 003: upload a usage report to Object Storage; the event runs the mailer; "
         "the email arrives")
    show([sys.executable, os.path.relpath(ROOT / "examples" / "usage-report-mailer" / "demo.py")])


def deploy_demo() -> None:
    step("fastfn deploy: the items service onto the local OCI cloud, then plan and drift")
    state = Path(tempfile.mkdtemp(prefix="fastfn-demo-cloud-"))
    try:
        with cloud_up(state, "--proxy-port", "0"):
            # The source folder, to stay fast (the default builds and pushes the image).
            where = ["--cloud-state", str(state), "--set", "build=source"]
            items = os.path.relpath(ITEMS)
            show([*FASTFN, "deploy", items, *where])
            show([*FASTFN, "plan", items, *where])
            show([*FASTFN, "drift", items, *where])
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="fastfn-demo-pg-"))
    dev: subprocess.Popen[str] | None = None
    state = ITEMS / ".fastfn" / "dev.json"
    state.unlink(missing_ok=True)
    postgres = LocalPostgres(data_dir)
    try:
        step("A real PostgreSQL (Debian's server, run as the postgres user)")
        postgres.start()
        login = postgres.ensure_database("items", "librarian_user", secrets.token_urlsafe(16))
        print(f"PostgreSQL {login.host}:{login.port}, database items, role librarian_user")

        step("fastfn dev examples/items: the local Fn platform behind the local gateway")
        # The manifest says DATABASE_URL = env:ITEMS_DATABASE_URL: fastfn dev hands the
        # function exactly that variable from this environment (never the command line).
        env = dict(os.environ, ITEMS_DATABASE_URL=login.dsn)
        dev = subprocess.Popen([*FASTFN, "dev", os.path.relpath(ITEMS), "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not state.exists():
            if dev.poll() is not None or time.monotonic() > deadline:
                print(dev.stdout.read() if dev.stdout else "", file=sys.stderr)
                raise SystemExit("fastfn dev did not start")
            time.sleep(0.1)
        info = json.loads(state.read_text())
        base = info["gateway"]
        print(f"gateway: {base}/   direct invoke: {info['url']}"
              f"/20181201/functions/{info['fn_id']}/actions/invoke")

        step("201: create an item through the gateway")
        curl("-X", "POST", f"{base}/items", "-H", "Content-Type: application/json",
             "-d", '{"name": "Test", "description": "Test"}')
        step("422: invalid input names the field")
        curl("-X", "POST", f"{base}/items", "-H", "Content-Type: application/json",
             "-d", '{"description": "no name"}')
        step("404: an unknown route")
        curl(f"{base}/no-such-route")
        step("health")
        curl(f"{base}/health")

        step("Direct invoke: no method, no path; the default route POST /items")
        body = '{"name": "Direct", "description": "via fastfn invoke"}'
        show([*FASTFN, "invoke", os.path.relpath(ITEMS), "--body", body,
              "-H", "Content-Type: application/json"])

        step("Seed 001's verification query: SELECT * FROM items")
        # The password travels in PGPASSWORD, never on a printed command line.
        where = ["-h", login.host, "-p", str(login.port), "-U", login.user, "-d", login.dbname]
        query = "SELECT * FROM items ORDER BY id"
        pg_env = dict(os.environ, PGPASSWORD=login.password)
        if shutil.which("psql"):
            show(["psql", *where, "-c", query], env=pg_env)
        else:
            conninfo = (f"host={login.host} port={login.port} user={login.user} "
                        f"dbname={login.dbname}")
            show([sys.executable, "-c", "import psycopg, sys\n"
                  "for row in psycopg.connect(sys.argv[1]).execute(sys.argv[2]): print(row)",
                  conninfo, query], env=pg_env)
        mailer_demo()
        deploy_demo()
        __import__("demo_lambda").run()  # seed 004 on the embedded AWS (scripts/demo_lambda.py)
        __import__("demo_pool").run(postgres)  # seed 002: a pool, a rolling update, rollback
        step("done")
        return 0
    finally:
        if dev is not None:
            stop(dev, signal.SIGINT)
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
