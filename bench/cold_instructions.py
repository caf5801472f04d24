"""fastfn's cold start in instructions (callgrind), which other load does not change.

Run by hand (not a test), after `bash bench/setup.sh`:

    .venv/bin/python bench/cold_instructions.py

On a shared machine the wall-clock triples of `bench/fn_runtime.py` swing by more than
the 15 ms being measured. This runs each of these once under
`valgrind --tool=callgrind` in the image-like venv (bench/.venvs/fastfn) and prints the
instructions executed (Ir), the deltas and the ratio to the anchor:

  bare import     python -c "import app" (the anchor: the app's own cost)
  runtime + app   fastfn's runtime modules, uvloop and httptools, then the app
  app + request   the app imported and its first request served in-process with plain
                  asyncio, no server (apps/first_call.py): FastAPI's own first-request
                  work, which every server pays
  fastfn serve    exec -> lsnr.sock -> one gateway GET /hello -> 200 -> SIGTERM -> exit

`serve - bare` is what the "<= 15 ms over a bare import" target measures, plus the
shutdown after SIGTERM (small: lifespan shutdown, two log lines). Each run takes a
minute or more (valgrind is ~50x slower); `--keep DIR` keeps the callgrind files for
`callgrind_annotate`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fn_runtime import (  # noqa: E402
    APPS,
    RUNTIME_IMPORT_SNIPPET,
    VENVS,
    all_targets,
    child_env,
    fn_request,
)

TIMEOUT_S = 600.0  # valgrind start-up on a loaded machine


def callgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}"]


def instructions(out: Path) -> int:
    match = re.search(r"^summary:\s*(\d+)", out.read_text(errors="replace"), re.MULTILINE)
    if match is None:
        raise SystemExit(f"no summary line in {out}")
    return int(match.group(1))


def run_import(code: str, out: Path, env: dict[str, str]) -> int:
    python = str(VENVS / "fastfn" / "bin" / "python")
    subprocess.run([*callgrind(out), python, "-c", code], cwd=APPS, env=env, check=True,
                   timeout=TIMEOUT_S, stdout=subprocess.DEVNULL)
    return instructions(out)


def run_serve(out: Path, sock_dir: Path) -> int:
    target = next(t for t in all_targets() if t.name == "fastfn")
    env = child_env(target, sock_dir)
    sock = sock_dir / "lsnr.sock"
    log = out.with_suffix(".log")  # the server's JSON log lines
    with log.open("wb") as sink:
        proc = subprocess.Popen([*callgrind(out), *target.command(sock)], cwd=APPS, env=env,
                                stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"fastfn serve exited {proc.returncode} before listening: "
                                 f"{log.read_text(errors='replace')[-1000:]}")
            if time.monotonic() > deadline:
                raise SystemExit("fastfn serve did not listen in time")
            try:
                conn.connect(str(sock))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.01)
        conn.settimeout(TIMEOUT_S)
        conn.sendall(fn_request("GET", "/hello", "cold-1"))
        data = b""
        while b'{"message":"hello"}' not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        conn.close()
        if b" 200 " not in data.split(b"\r\n", 1)[0]:
            raise SystemExit(f"unexpected answer: {data[:300]!r}")
        proc.send_signal(signal.SIGTERM)
        proc.wait(TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return instructions(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the callgrind files here")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    if not (VENVS / "fastfn" / "bin" / "fastfn").exists():
        print("missing bench/.venvs/fastfn: run bash bench/setup.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cold-ir-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sock_dir = Path(tmp) / "sock"
        sock_dir.mkdir()
        env = {k: v for k, v in child_env(next(iter(all_targets())), sock_dir).items()
               if not k.startswith("FN_")}
        counts = {
            "bare import": run_import("import app", work / "cg.bare", env),
            "runtime + app": run_import(RUNTIME_IMPORT_SNIPPET, work / "cg.rt", env),
            "app + request": run_import("import first_call", work / "cg.call", env),
            "fastfn serve": run_serve(work / "cg.serve", sock_dir),
        }
    bare = counts["bare import"]
    print("instructions (callgrind Ir), image-like venv:")
    for name, count in counts.items():
        print(f"  {name:<15}{count / 1e6:>10.1f} M   / bare import {count / bare:.3f}")
    rt, serve = counts["runtime + app"], counts["fastfn serve"]
    print(f"  fastfn's imports (runtime + app - bare)        {(rt - bare) / 1e6:>7.1f} M")
    print(f"  loop, lifespan, socket, first call, shutdown   {(serve - rt) / 1e6:>7.1f} M")
    print(f"  serve - bare import                            {(serve - bare) / 1e6:>7.1f} M "
          f"({(serve - bare) / bare:.1%} of the bare import)")
    called = counts["app + request"]
    print(f"  of which the app's first request (in-process)  {(called - bare) / 1e6:>7.1f} M")
    print(f"  the server's own (serve - app + request)       {(serve - called) / 1e6:>7.1f} M")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("(children run without PYTHONDONTWRITEBYTECODE; bytecode from bench/setup.sh)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
