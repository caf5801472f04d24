"""Cold start and warm throughput under the Fn contract: fastfn vs its anchors.

Run by hand (not a test):

    bash bench/setup.sh && .venv/bin/python bench/fn_runtime.py

Every server serves the same FastAPI app (bench/apps/app.py) on a unix socket named by
FN_LISTENER, and is driven the way the Fn agent drives a container:

* cold start: exec -> CREATE of lsnr.sock (inotify, as the agent watches) -> dial at once,
  retrying every RETRY_S while refused -> first complete 200 response. Refused dials and
  the socket's mode at CREATE are recorded. A bare-import anchor (`python -c "import app"`
  in each venv) gives exec -> imported and exec -> exit, so a server's own start-up cost
  is "first 200 - bare import".
* warm: one keep-alive connection, sequential calls, gateway-style (`POST /call` with
  Fn-Http-Method: GET, Fn-Http-Request-Url: /hello); req/s over a fixed count after a
  warm-up, and server CPU per call from /proc/<pid>/stat (utime + stime).

Servers are interleaved round-robin (rotated each round) and medians are reported.
Plain uvicorn does not speak the Fn contract (the agent's `POST /call` is a 404 there, an
invalid outer status), so it gets the same agent headers on `GET /hello` instead.
Every child process is killed on the way out, on error and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APPS = HERE / "apps"
VENVS = HERE / ".venvs"
PROJECT_VENV = ROOT / ".venv"
RESULTS = HERE / "results"

try:
    from fastfn.localcloud.fn.inotify import DirectoryWatch
    from fastfn.localcloud.process import Supervised
except ImportError:  # run with another interpreter than the project venv's
    sys.path.insert(0, str(ROOT / "src"))
    from fastfn.localcloud.fn.inotify import DirectoryWatch
    from fastfn.localcloud.process import Supervised

SOCKET = "lsnr.sock"
READY_TIMEOUT_S = 10.0  # the agent gives up after 5 s; we want to see slow starters too
CALL_TIMEOUT_S = 10.0
RETRY_S = 0.0002  # pause between refused dials
STOP_GRACE_S = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEADLINE = "2099-12-31T23:59:59.000Z"
HELLO_BODY = b'{"message":"hello"}'
IMPORT_SNIPPET = "import app, os; os.write(1, b'R')"
# fastfn's own imports in the order `fastfn serve` does them, then the app.
RUNTIME_IMPORT_SNIPPET = ("import fastfn._entry, fastfn.runtime.serve, uvloop, app, os; "
                          "os.write(1, b'R')")


# --- targets -------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    name: str
    venv: Path
    argv: tuple[str, ...]  # argv[0] is looked up in the venv's bin/; "{sock}" is replaced
    env: tuple[tuple[str, str], ...] = ()
    speaks_fn: bool = True  # False: send GET /hello directly (plain HTTP server)
    bare_import: bool = False  # an import anchor, not a server
    cold_only: bool = False  # same server as another target: no warm rounds, no checks
    note: str = ""

    def command(self, sock: Path) -> list[str]:
        exe = str(self.venv / "bin" / self.argv[0])
        return [exe] + [arg.replace("{sock}", str(sock)) for arg in self.argv[1:]]

    @property
    def available(self) -> bool:
        return (self.venv / "bin" / self.argv[0]).exists()


def _import_target(label: str, venv: Path) -> Target:
    return Target(f"import:{label}", venv, ("python", "-c", IMPORT_SNIPPET), bare_import=True,
                  note="python -c 'import app' in that venv")


def all_targets() -> list[Target]:
    lean = VENVS / "fastfn"
    fdk, fdk_asgi, uvi = VENVS / "fdk", VENVS / "fdk-asgi", VENVS / "uvicorn"
    return [
        Target("fastfn", lean, ("fastfn", "serve", "app:app"),
               note="`fastfn serve app:app` (the generated Dockerfile's CMD) in an image-like "
               "venv; default loop (uvloop when installed)"),
        Target("fastfn-asyncio", lean, ("fastfn", "serve", "app:app"),
               env=(("FASTFN_LOOP", "asyncio"),), note="the same with FASTFN_LOOP=asyncio"),
        Target("fastfn-dev", PROJECT_VENV, ("python", "-m", "fastfn", "serve", "app:app"),
               cold_only=True, note="`python -m fastfn serve app:app` in the project venv"),
        Target("fdk-python", fdk, ("fdk", "func.py", "handler"),
               note="fdk 0.1.128 + bench/apps/func.py ASGI adapter"),
        Target("fdk-asgi", fdk_asgi, ("fdk-asgi-serve", "app:app"),
               note="fdk-asgi-serve 0.7.2 (uvicorn 0.25, asyncio, httptools)"),
        Target("uvicorn", uvi, ("uvicorn", "app:app", "--uds", "{sock}", "--http", "h11",
                                "--loop", "asyncio"),
               speaks_fn=False, note="uvicorn --uds, h11 + asyncio (pip install uvicorn)"),
        Target("uvicorn-std", uvi, ("uvicorn", "app:app", "--uds", "{sock}"),
               speaks_fn=False, note="uvicorn --uds, auto: httptools + uvloop"),
        Target("fastfn@baseline", VENVS / "fastfn-baseline", ("fastfn", "serve", "app:app"),
               note="`fastfn serve app:app` as fastfn was at FASTFN_BASELINE (bench/setup.sh)"),
        _import_target("fastfn", lean),
        _import_target("fastfn@baseline", VENVS / "fastfn-baseline"),
        Target("import:fastfn+rt", lean, ("python", "-c", RUNTIME_IMPORT_SNIPPET),
               bare_import=True, note="fastfn's runtime modules and uvloop, then the app"),
        Target("import:fastfn+call", lean, ("python", "-c", "import first_call"),
               bare_import=True, note="the app and its first request in-process (asyncio, "
               "no server): apps/first_call.py"),
        _import_target("project", PROJECT_VENV),
        _import_target("fdk", fdk),
        _import_target("fdk-asgi", fdk_asgi),
        _import_target("uvicorn", uvi),
    ]


# Which bare-import anchor belongs to which server (same venv, same interpreter).
IMPORT_OF = {
    "fastfn": "import:fastfn", "fastfn-asyncio": "import:fastfn",
    "fastfn-dev": "import:project", "fastfn@baseline": "import:fastfn@baseline",
    "fdk-python": "import:fdk", "fdk-asgi": "import:fdk-asgi",
    "uvicorn": "import:uvicorn", "uvicorn-std": "import:uvicorn",
}


def child_env(target: Target, sock_dir: Path) -> dict[str, str]:
    env = {
        "PATH": f"{target.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        # What a function image sets so that `module:app` resolves (fdk images do the same).
        "PYTHONPATH": str(APPS),
        "FN_LISTENER": f"unix:{sock_dir / SOCKET}",
        "FN_FORMAT": "http-stream",
        "FN_APP_ID": "ocid1.fnapp.oc1..bench",
        "FN_FN_ID": "ocid1.fnfunc.oc1..bench",
        "FN_MEMORY": "256",
        "FN_TYPE": "sync",
    }
    env.update(dict(target.env))
    return env


# --- processes -----------------------------------------------------------------------

_live: set[Supervised] = set()


def spawn(target: Target, sock_dir: Path, stdout: int | IO[bytes]) -> Supervised:
    """Started under the local cloud's supervisor: its own session, killed if we die."""
    output = stdout if isinstance(stdout, int) else stdout.fileno()
    proc = Supervised(target.name, target.command(sock_dir / SOCKET), cwd=APPS,
                      env=child_env(target, sock_dir), output=output)
    proc.start()
    _live.add(proc)
    return proc


def stop(proc: Supervised) -> None:
    try:
        proc.stop(STOP_GRACE_S)
    finally:
        _live.discard(proc)


def stop_all() -> None:
    for proc in list(_live):
        with suppress(Exception):
            stop(proc)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    # Short path: unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="fnb-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rpartition(b")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1])
    return 0


def system_busy_ticks() -> int:
    """Non-idle CPU ticks of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat", "rb") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def wait_quiet(max_wait_s: float, threshold: float) -> float:
    """Wait (bounded) until other processes use less than `threshold` cores over 0.2 s,
    so that other people's test runs on a shared 2-core machine distort less. Returns
    the load seen last, in cores."""
    deadline = time.monotonic() + max_wait_s
    while True:
        busy0, t0 = system_busy_ticks(), time.monotonic()
        time.sleep(0.2)
        load = (system_busy_ticks() - busy0) / CLK_TCK / (time.monotonic() - t0)
        if load < threshold or time.monotonic() > deadline:
            return load
        time.sleep(0.3)


class StartError(RuntimeError):
    pass


def log_tail(path: Path, limit: int = 1500) -> str:
    with suppress(OSError):
        return path.read_bytes()[-limit:].decode(errors="replace")
    return ""


# --- the agent's side of the wire ----------------------------------------------------

def fn_request(method: str, url: str, call_id: str, body: bytes = b"",
               content_type: str | None = None, gateway: bool = True) -> bytes:
    lines = ["POST /call HTTP/1.1", "Host: localhost", "User-Agent: lua-resty-http",
             f"Fn-Call-Id: {call_id}", f"Fn-Deadline: {DEADLINE}", "Fn-Invoke-Type: sync"]
    if gateway:
        lines += ["Fn-Intent: httprequest", f"Fn-Http-Method: {method}",
                  f"Fn-Http-Request-Url: {url}", "Fn-Http-H-Accept: */*",
                  "Fn-Http-H-User-Agent: curl/8.5.0"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def plain_request(method: str, url: str, call_id: str, body: bytes = b"",
                  content_type: str | None = None) -> bytes:
    """What plain uvicorn needs for the same logical request: the agent's headers, but
    the client's method and path on the request line."""
    lines = [f"{method} {url} HTTP/1.1", "Host: localhost", "User-Agent: lua-resty-http",
             f"Fn-Call-Id: {call_id}", f"Fn-Deadline: {DEADLINE}", "Fn-Intent: httprequest",
             "Accept: */*"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def request_for(target: Target, method: str, url: str, call_id: str, body: bytes = b"",
                content_type: str | None = None) -> bytes:
    if target.speaks_fn:
        return fn_request(method, url, call_id, body, content_type)
    return plain_request(method, url, call_id, body, content_type)


class ProtocolError(RuntimeError):
    pass


def roundtrip(conn: socket.socket, request: bytes) -> bytes:
    """Send one request, return the raw response (head + body). Content-Length or chunked."""
    conn.sendall(request)
    recv = conn.recv
    data = recv(65536)
    while (end := data.find(b"\r\n\r\n")) < 0:
        more = recv(65536)
        if not more:
            raise ProtocolError("connection closed inside the response head")
        data += more
    head = data[:end].lower()
    start = end + 4
    i = head.find(b"\r\ncontent-length:")
    if i >= 0:
        j = head.find(b"\r\n", i + 2)
        need = start + int(head[i + 17 : j if j >= 0 else len(head)])
        while len(data) < need:
            more = recv(65536)
            if not more:
                raise ProtocolError("connection closed inside the body")
            data += more
        return data[:need]
    if b"\r\ntransfer-encoding: chunked" not in head:
        raise ProtocolError("response has neither Content-Length nor chunked encoding")
    pos = start
    while True:
        while (nl := data.find(b"\r\n", pos)) < 0:
            data += recv(65536)
        size = int(data[pos:nl].split(b";")[0], 16)
        pos = nl + 2 + size + 2
        while len(data) < pos:
            more = recv(65536)
            if not more:
                raise ProtocolError("connection closed inside a chunk")
            data += more
        if size == 0:
            return data[:pos]


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def app_status(self) -> int:
        """The app's status: Fn-Http-Status under the Fn contract, else the outer one."""
        value = self.header("fn-http-status")
        return int(value) if value else self.status


def parse_response(raw: bytes) -> Response:
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    body = rest
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        chunks = []
        pos = 0
        while True:
            nl = rest.index(b"\r\n", pos)
            size = int(rest[pos:nl].split(b";")[0], 16)
            if size == 0:
                break
            chunks.append(rest[nl + 2 : nl + 2 + size])
            pos = nl + 2 + size + 2
        body = b"".join(chunks)
    return Response(status, headers, body)


def expect_hello(target: Target, raw: bytes) -> None:
    resp = parse_response(raw)
    if resp.status != 200 or resp.app_status != 200 or resp.body.strip() != HELLO_BODY:
        raise ProtocolError(f"{target.name}: expected 200 {HELLO_BODY!r}, got outer "
                            f"{resp.status}, app {resp.app_status}, body {resp.body[:200]!r}")


# --- one start -----------------------------------------------------------------------

@dataclass
class Started:
    proc: Supervised
    conn: socket.socket
    socket_ms: float  # exec -> CREATE of lsnr.sock
    connect_ms: float  # exec -> first accepted dial
    refused: int
    mode: str  # permission bits of what lsnr.sock points to, right at CREATE
    started: float  # perf_counter at exec


async def start_server(target: Target, sock_dir: Path, log: IO[bytes]) -> Started:
    sock_path = sock_dir / SOCKET
    with DirectoryWatch(sock_dir) as watch:
        t0 = time.perf_counter()
        proc = spawn(target, sock_dir, log)
        try:
            await watch.wait_for(SOCKET, READY_TIMEOUT_S)
        except TimeoutError:
            raise StartError(f"{target.name}: no {SOCKET} within {READY_TIMEOUT_S} s "
                             f"(exit code {proc.returncode})") from None
    t_create = time.perf_counter()
    try:
        mode = oct(os.stat(sock_path).st_mode & 0o777)
    except OSError as exc:
        mode = f"stat failed: {exc.strerror}"
    refused = 0
    deadline = t_create + READY_TIMEOUT_S
    while True:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(str(sock_path))
            break
        except (ConnectionRefusedError, FileNotFoundError):
            conn.close()
            refused += 1
            if time.perf_counter() > deadline or proc.returncode is not None:
                raise StartError(f"{target.name}: dial refused {refused} times") from None
            time.sleep(RETRY_S)
    t_conn = time.perf_counter()
    conn.settimeout(CALL_TIMEOUT_S)
    return Started(proc, conn, (t_create - t0) * 1000, (t_conn - t0) * 1000, refused, mode, t0)


@dataclass
class ColdSample:
    socket_ms: float | None = None
    connect_ms: float | None = None
    first_ms: float | None = None  # exec -> first complete 200 (servers)
    imported_ms: float | None = None  # exec -> module imported (import anchors)
    exit_ms: float | None = None  # exec -> process exited (import anchors)
    refused: int = 0
    mode: str = ""
    rss_kib: int = 0


async def cold_once(target: Target) -> ColdSample:
    with scratch_dir() as sock_dir:
        if target.bare_import:
            t0 = time.perf_counter()
            proc = spawn(target, sock_dir, subprocess.PIPE)
            try:
                assert proc.popen is not None and proc.popen.stdout is not None
                marker = proc.popen.stdout.read(1)
                t_imported = time.perf_counter()
                code = proc.popen.wait(READY_TIMEOUT_S)
                t_exit = time.perf_counter()
            finally:
                stop(proc)
            if marker != b"R" or code != 0:
                raise StartError(f"{target.name}: import failed (exit code {code})")
            return ColdSample(imported_ms=(t_imported - t0) * 1000,
                              exit_ms=(t_exit - t0) * 1000)
        log_path = sock_dir / "server.log"
        with open(log_path, "wb") as log:
            try:
                started = await start_server(target, sock_dir, log)
            except StartError as exc:
                raise StartError(f"{exc}\n{log_tail(log_path)}") from None
            try:
                raw = roundtrip(started.conn, request_for(target, "GET", "/hello", "cold-1"))
                t_first = time.perf_counter()
                expect_hello(target, raw)
                rss = rss_kib(started.proc.pid)
            except (OSError, ProtocolError) as exc:
                raise StartError(f"{target.name}: first call failed: {exc}\n"
                                 f"{log_tail(log_path)}") from None
            finally:
                started.conn.close()
                stop(started.proc)
        return ColdSample(started.socket_ms, started.connect_ms,
                          (t_first - started.started) * 1000, refused=started.refused,
                          mode=started.mode, rss_kib=rss)


# --- warm ----------------------------------------------------------------------------

@dataclass
class WarmSample:
    rps: float
    latency_us: float  # mean wall time per call as the client sees it
    server_cpu_us: float
    client_cpu_us: float
    foreign_cores: float  # CPU used by other processes during the timed calls, in cores


async def warm_once(target: Target, calls: int, warmup: int) -> WarmSample:
    with scratch_dir() as sock_dir, open(sock_dir / "server.log", "wb") as log:
        started = await start_server(target, sock_dir, log)
        conn, pid = started.conn, started.proc.pid
        try:
            expect_hello(target, roundtrip(conn, request_for(target, "GET", "/hello", "w-0")))
            # The request differs per call only by its call id, as the agent's do.
            template = request_for(target, "GET", "/hello", "\0")
            before, _, after = template.partition(b"\0")
            for i in range(warmup):
                roundtrip(conn, before + b"warm-%08d" % i + after)
            ok = b"HTTP/1.1 200 "
            cpu0 = cpu_ticks(pid)
            busy0 = system_busy_ticks()
            c0 = time.process_time()
            t0 = time.perf_counter()
            for i in range(calls):
                if not roundtrip(conn, before + b"call-%08d" % i + after).startswith(ok):
                    raise ProtocolError(f"{target.name}: call {i} was not a 200")
            elapsed = time.perf_counter() - t0
            client = time.process_time() - c0
            server = (cpu_ticks(pid) - cpu0) / CLK_TCK
            busy = (system_busy_ticks() - busy0) / CLK_TCK
            expect_hello(target, roundtrip(conn, request_for(target, "GET", "/hello", "w-1")))
        finally:
            conn.close()
            stop(started.proc)
    return WarmSample(calls / elapsed, elapsed / calls * 1e6, server / calls * 1e6,
                      client / calls * 1e6, max(0.0, busy - server - client) / elapsed)


# --- what each server answers (fairness notes, not timed) -----------------------------

@dataclass
class Check:
    label: str
    outer: int | None
    app: int | None
    note: str = ""


async def contract_checks(target: Target) -> list[Check]:
    item = json.dumps({"name": "pen", "price": 1.5}).encode()
    probes: list[tuple[str, bytes]] = [
        ("GET /hello (gateway)", request_for(target, "GET", "/hello", "chk-1")),
        ("POST /items (gateway)", request_for(target, "POST", "/items", "chk-2", item,
                                              "application/json")),
        ("direct invoke", fn_request("POST", "", "chk-3", item, "application/json",
                                     gateway=False)),
    ]
    out: list[Check] = []
    with scratch_dir() as sock_dir, open(sock_dir / "server.log", "wb") as log:
        started = await start_server(target, sock_dir, log)
        try:
            for label, request in probes:
                try:
                    resp = parse_response(roundtrip(started.conn, request))
                    note = "" if resp.status in (200, 502, 504) else "invalid outer status"
                    out.append(Check(label, resp.status, resp.app_status, note))
                except (OSError, ProtocolError) as exc:
                    out.append(Check(label, None, None, f"failed: {exc}"))
                    started.conn.close()
                    started.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    started.conn.settimeout(CALL_TIMEOUT_S)
                    started.conn.connect(str(sock_dir / SOCKET))
        finally:
            started.conn.close()
            stop(started.proc)
    return out


# --- statistics and output -----------------------------------------------------------

def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def paired(warm: dict[str, list[WarmSample]], a: str, b: str) -> str:
    """Median over rounds of a's req/s / b's in the same round (robust to drift)."""
    pairs = [x.rps / y.rps for x, y in zip(warm.get(a, []), warm.get(b, []), strict=False)]
    return f"{median(pairs):.2f}x" if pairs else "-"


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return "-" if not a or not b or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}x"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    out = [line, "-" * len(line)]
    for row in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(out)


def venv_versions(venv: Path) -> str:
    code = ("import importlib.metadata as m, sys\n"
            "out = ['python ' + sys.version.split()[0]]\n"
            "for n in ('fastapi', 'pydantic', 'starlette', 'fdk', 'fdk-asgi', 'uvicorn', "
            "'httptools', 'uvloop'):\n"
            "    try: out.append(f'{n} {m.version(n)}')\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(', '.join(out))")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, timeout=60, check=False)
    return done.stdout.strip() or done.stderr.strip()[-200:]


AB_GROUP = ("fastfn", "import:fastfn", "import:fastfn+rt", "import:fastfn+call")


@dataclass
class Results:
    ab: dict[str, list[ColdSample]] = field(default_factory=dict)
    cold: dict[str, list[ColdSample]] = field(default_factory=dict)
    warm: dict[str, list[WarmSample]] = field(default_factory=dict)
    checks: dict[str, list[Check]] = field(default_factory=dict)


def rotated(items: Sequence[Target], k: int) -> list[Target]:
    if not items:  # --only named cold-only targets: no warm servers
        return []
    k %= len(items)
    return list(items[k:]) + list(items[:k])


async def run(targets: list[Target], args: argparse.Namespace,
              say: Callable[[str], None]) -> Results:
    res = Results()
    servers = [t for t in targets if not t.bare_import and not t.cold_only]
    if not args.no_checks:
        for t in servers:
            res.checks[t.name] = await contract_checks(t)
    if args.cold_runs:
        # Warm the OS cache (and write any missing .pyc) before timing anything.
        for t in targets:
            await cold_once(t)
        for r in range(args.cold_runs):
            for t in rotated(targets, r):
                wait_quiet(args.quiet_wait, args.quiet_cores)
                res.cold.setdefault(t.name, []).append(await cold_once(t))
            say(f"cold: round {r + 1}/{args.cold_runs} done")
    group = [t for name in AB_GROUP for t in targets if t.name == name]
    if args.ab_runs and len(group) == len(AB_GROUP):
        # Back to back, so that a neighbour's load shifts all three alike.
        for r in range(args.ab_runs):
            wait_quiet(args.quiet_wait, args.quiet_cores)
            for t in rotated(group, r):
                res.ab.setdefault(t.name, []).append(await cold_once(t))
        say(f"cold A/B: {args.ab_runs} rounds of {len(group)} done")
    if args.rounds:
        for r in range(args.rounds):
            for t in rotated(servers, r):
                wait_quiet(args.quiet_wait, args.quiet_cores)
                sample = await warm_once(t, args.calls, args.warmup)
                res.warm.setdefault(t.name, []).append(sample)
            say(f"warm: round {r + 1}/{args.rounds} done")
    return res


def report(targets: list[Target], res: Results, args: argparse.Namespace) -> tuple[str, dict]:
    out: list[str] = []
    summary: dict[str, Any] = {"cold": {}, "warm": {}}
    names = [t.name for t in targets]

    if res.checks:
        rows = []
        for name, checks in res.checks.items():
            for c in checks:
                rows.append([name, c.label, str(c.outer or "-"), str(c.app or "-"), c.note])
        out += ["What each server answers (outer status, app status):",
                table(["server", "request", "outer", "app", "note"], rows), ""]

    if res.cold:
        cold_med: dict[str, dict[str, float]] = {}
        for name in names:
            samples = res.cold.get(name, [])
            if not samples:
                continue
            m: dict[str, float] = {}
            for key in ("socket_ms", "connect_ms", "first_ms", "imported_ms", "exit_ms"):
                vals = [v for s in samples if (v := getattr(s, key)) is not None]
                if vals:
                    m[key], m[key + "_p90"] = median(vals), p90(vals)
            refused = [s.refused for s in samples]
            m["refused_median"] = median(refused)
            m["refused_max"] = max(refused)
            m["starts_refused"] = sum(1 for x in refused if x)
            m["rss_mib"] = median([s.rss_kib / 1024 for s in samples])
            modes = sorted({s.mode for s in samples if s.mode})
            summary["cold"][name] = {**m, "modes": modes, "runs": len(samples)}
            cold_med[name] = m
        base = cold_med.get("fdk-asgi", {}).get("first_ms", math.nan)
        rows = []
        for t in targets:
            m = cold_med.get(t.name)
            if m is None or t.bare_import:
                continue
            imp = cold_med.get(IMPORT_OF.get(t.name, ""), {}).get("imported_ms", math.nan)
            first = m.get("first_ms", math.nan)
            rows.append([
                t.name, f"{fmt(m['socket_ms'])} [{fmt(m['socket_ms_p90'])}]",
                f"{fmt(first)} [{fmt(m['first_ms_p90'])}]", fmt(first - imp),
                f"{fmt(m['refused_median'], 0)}/{fmt(m['refused_max'], 0)}"
                f" ({int(m['starts_refused'])}/{summary['cold'][t.name]['runs']})",
                ",".join(summary["cold"][t.name]["modes"]), fmt(m["rss_mib"]),
                ratio(first, base)])
        runs = max((len(v) for v in res.cold.values()), default=0)
        out += [f"Cold start, {runs} interleaved runs each: median [p90], ms from exec",
                table(["server", "socket ready", "first 200", "- bare import",
                       "refused med/max (starts)", "mode", "RSS MiB", "vs fdk-asgi"], rows),
                ""]
        rows = []
        for t in targets:
            m = cold_med.get(t.name)
            if m is None or not t.bare_import:
                continue
            rows.append([t.name, f"{fmt(m['imported_ms'])} [{fmt(m['imported_ms_p90'])}]",
                         f"{fmt(m['exit_ms'])} [{fmt(m['exit_ms_p90'])}]"])
        out += ["Bare import of the app module (python -c 'import app'): median [p90], ms",
                table(["venv", "exec -> imported", "exec -> exit"], rows), ""]

    if res.ab:
        first = [s.first_ms or math.nan for s in res.ab["fastfn"]]
        bare = [s.imported_ms or math.nan for s in res.ab["import:fastfn"]]
        rt = [s.imported_ms or math.nan for s in res.ab["import:fastfn+rt"]]
        called = [s.imported_ms or math.nan for s in res.ab["import:fastfn+call"]]
        parts = [
            ("fastfn serve: exec -> first 200", first),
            ("bare import: exec -> app imported", bare),
            ("runtime + app imports: exec -> imported", rt),
            ("cold start - bare import (paired)", [a - b for a, b in zip(first, bare,
                                                                         strict=True)]),
            ("  of which fastfn's imports (rt - bare)", [a - b for a, b in zip(rt, bare,
                                                                               strict=True)]),
            ("  of which the rest: loop, lifespan, socket, first call (serve - rt)",
             [a - b for a, b in zip(first, rt, strict=True)]),
            ("import + app's first request in-process: exec -> done", called),
            ("  the app's first request (paired, call - bare)",
             [a - b for a, b in zip(called, bare, strict=True)]),
            ("cold start - (import + first request) (paired): the server's own",
             [a - b for a, b in zip(first, called, strict=True)]),
        ]
        rows = [[label, fmt(median(v)), fmt(p90(v))] for label, v in parts]
        summary["cold_ab"] = {label.strip(): {"median": median(v), "p90": p90(v)}
                              for label, v in parts}
        out += [f"fastfn cold start decomposed: {len(first)} back-to-back rounds in its "
                "image-like venv, ms",
                table(["", "median", "p90"], rows), ""]

    if res.warm:
        warm_med: dict[str, dict[str, float]] = {}
        for name in names:
            samples = res.warm.get(name, [])
            if not samples:
                continue
            rps = [s.rps for s in samples]
            warm_med[name] = {
                "rps": median(rps), "rps_p10": min(rps) if len(rps) < 10 else
                sorted(rps)[len(rps) // 10], "rps_max": max(rps),
                "latency_us": median([s.latency_us for s in samples]),
                "server_cpu_us": median([s.server_cpu_us for s in samples]),
                "client_cpu_us": median([s.client_cpu_us for s in samples]),
                "foreign_cores": median([s.foreign_cores for s in samples]),
            }
            summary["warm"][name] = {**warm_med[name], "rounds": len(samples)}
        base_rps = warm_med.get("fdk-asgi", {}).get("rps", math.nan)
        ff_rps = warm_med.get("fastfn", {}).get("rps", math.nan)
        rows = []
        for t in targets:
            w = warm_med.get(t.name)
            if w is None:
                continue
            rows.append([t.name, fmt(w["rps"], 0), f"{fmt(w['rps_p10'], 0)}-{fmt(w['rps_max'], 0)}",
                         fmt(w["latency_us"]), fmt(w["server_cpu_us"]),
                         fmt(w["client_cpu_us"]), fmt(w["foreign_cores"], 2),
                         ratio(w["rps"], base_rps), ratio(ff_rps, w["rps"]),
                         paired(res.warm, "fastfn", t.name)])
        rounds = max((len(v) for v in res.warm.values()), default=0)
        out += [f"Warm, sequential on one keep-alive connection: {args.calls} calls after "
                f"{args.warmup} warm-up, {rounds} interleaved rounds, medians",
                table(["server", "req/s", "min-max", "us/call", "server CPU us/call",
                       "client CPU us/call", "other load", "vs fdk-asgi", "fastfn / this",
                       "paired"], rows),
                "(other load: cores used by other processes while timing; paired: median "
                "over rounds of fastfn / this in the same round)", ""]

    # The two targets of the issue.
    w = summary["warm"]
    if "fastfn" in w and "fdk-asgi" in w:
        x = w["fastfn"]["rps"] / w["fdk-asgi"]["rps"]
        out.append(f"fastfn seq req/s / fdk-asgi = {x:.2f} (target >= 1.3): "
                   f"{'met' if x >= 1.3 else 'MISSED'}  [paired per round: "
                   f"{paired(res.warm, 'fastfn', 'fdk-asgi')}]")
        summary["target_rps_ratio"] = x
    c = summary["cold"]
    if "cold_ab" in summary:
        y = summary["cold_ab"]["cold start - bare import (paired)"]["median"]
        out.append(f"fastfn cold start - bare import = {y:.1f} ms (target <= 15): "
                   f"{'met' if y <= 15 else 'MISSED'}  [median of {args.ab_runs} paired runs]")
        summary["target_cold_added_ms"] = y
        z = summary["cold_ab"]["cold start - (import + first request) (paired): the "
                               "server's own"]["median"]
        out.append(f"  of that, the server's own (over import + the app's first request "
                   f"in-process) = {z:.1f} ms")
    elif "fastfn" in c and "import:fastfn" in c:
        y = c["fastfn"]["first_ms"] - c["import:fastfn"]["imported_ms"]
        out.append(f"fastfn cold start - bare import = {y:.1f} ms (target <= 15): "
                   f"{'met' if y <= 15 else 'MISSED'}  [difference of medians]")
        summary["target_cold_added_ms"] = y
    if "fastfn@baseline" in w and "fastfn" in w:
        a, b = w["fastfn"], w["fastfn@baseline"]
        out.append(f"fastfn now vs at baseline: {a['rps'] / b['rps']:.2f}x req/s "
                   f"({a['rps']:.0f} vs {b['rps']:.0f}), server CPU {a['server_cpu_us']:.0f} "
                   f"vs {b['server_cpu_us']:.0f} us/call  [paired per round: "
                   f"{paired(res.warm, 'fastfn', 'fastfn@baseline')}]")
    if "fastfn@baseline" in c and "fastfn" in c and "import:fastfn@baseline" in c:
        now = c["fastfn"]["first_ms"] - c["import:fastfn"]["imported_ms"]
        then = c["fastfn@baseline"]["first_ms"] - c["import:fastfn@baseline"]["imported_ms"]
        out.append(f"fastfn now vs at baseline, cold start - bare import: {now:.1f} vs "
                   f"{then:.1f} ms (first 200: {c['fastfn']['first_ms']:.1f} vs "
                   f"{c['fastfn@baseline']['first_ms']:.1f} ms)")
    if "fastfn-dev" in c and "import:project" in c:
        y = c["fastfn-dev"]["first_ms"] - c["import:project"]["imported_ms"]
        out.append(f"project venv, python -m fastfn: cold start - bare import = {y:.1f} ms")
    if "fastfn" in w and "fastfn-asyncio" in w:
        a, b = w["fastfn"], w["fastfn-asyncio"]
        out.append(f"fastfn uvloop vs asyncio: {a['rps'] / b['rps']:.2f}x req/s, server CPU "
                   f"{a['server_cpu_us']:.0f} vs {b['server_cpu_us']:.0f} us/call")
    if "fastfn" in c and "fastfn-asyncio" in c:
        out.append(f"fastfn uvloop vs asyncio cold start: {c['fastfn']['first_ms']:.1f} vs "
                   f"{c['fastfn-asyncio']['first_ms']:.1f} ms to first 200")
    return "\n".join(out), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-runs", type=int, default=20, help="cold starts per target")
    parser.add_argument("--ab-runs", type=int, default=30,
                        help="back-to-back rounds: fastfn / bare import / runtime imports / "
                        "import + first request in-process")
    parser.add_argument("--rounds", type=int, default=5, help="warm rounds per server")
    parser.add_argument("--calls", type=int, default=5000, help="timed calls per warm round")
    parser.add_argument("--warmup", type=int, default=500, help="untimed calls first")
    parser.add_argument("--only", default="", help="comma-separated target names")
    parser.add_argument("--no-checks", action="store_true", help="skip the contract probes")
    parser.add_argument("--json", type=Path, default=None,
                        help="write raw samples and medians here (default bench/results/)")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="before each sample, wait up to this many seconds for the "
                        "machine to be idle (0: don't wait)")
    parser.add_argument("--quiet-cores", type=float, default=0.15,
                        help="idle means other processes use fewer cores than this")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if min(args.cold_runs, args.ab_runs, args.rounds, args.warmup) < 0 or args.calls < 1:
        parser.error("counts must be positive")

    targets = all_targets()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {t.name for t in targets}
        if unknown:
            parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
        targets = [t for t in targets if t.name in wanted]
    if not args.only:  # the baseline exists only when bench/setup.sh was given one
        targets = [t for t in targets if "baseline" not in t.name or t.available]
    missing = [t.name for t in targets if not t.available]
    if missing:
        print(f"missing (run bash bench/setup.sh): {', '.join(missing)}", file=sys.stderr)
        targets = [t for t in targets if t.available]
    if not targets:
        return 2
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set here; children run without it",
              file=sys.stderr)

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    def on_term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    venvs = {str(v.relative_to(ROOT)): venv_versions(v)
             for v in dict.fromkeys(t.venv for t in targets)}
    try:
        res = asyncio.run(run(targets, args, say))
    finally:
        stop_all()
    text, summary = report(targets, res, args)
    print(f"machine: {os.cpu_count()} CPUs, {sys.platform}; dial retry every "
          f"{RETRY_S * 1e3:.1f} ms; deadline {DEADLINE}")
    for venv, versions in venvs.items():
        print(f"  {venv}: {versions}")
    for t in targets:
        print(f"  {t.name}: {t.note}")
    print()
    print(text)

    path = args.json
    if path is None:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / time.strftime("fn_runtime-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps({
        "venvs": venvs, "args": {k: str(v) for k, v in vars(args).items()},
        "summary": summary,
        "cold": {k: [asdict(s) for s in v] for k, v in res.cold.items()},
        "cold_ab": {k: [asdict(s) for s in v] for k, v in res.ab.items()},
        "warm": {k: [asdict(s) for s in v] for k, v in res.warm.items()},
        "checks": {k: [asdict(c) for c in v] for k, v in res.checks.items()},
    }, indent=1))
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
