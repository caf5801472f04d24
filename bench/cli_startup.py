"""`fastfn --help` start-up against two anchors, side by side in one run.

Run by hand (not a test):

    .venv/bin/python bench/cli_startup.py [--rounds 30]

Each round runs, in a rotated order, `python -c pass`, `python -c "import typer"`,
`fastfn --help` and `fastfn cloud --help` (the console script of the project venv), and
records each one's wall time (fork/exec to exit) and its CPU time (user + system of the
child). The machine is shared, so absolute times are noisy: the medians are printed with
the ratios to the anchors of the same rounds, and the minimum, which is what an idle
machine gives. `--compare-src OTHER/src` adds the same `--help` from another source tree
(before/after a change, same rounds). Target: `fastfn --help` <= 150 ms wall on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
TARGET_MS = 150.0


def commands(compare_src: str | None) -> dict[str, list[str]]:
    python = str(VENV_BIN / "python")
    fastfn = str(VENV_BIN / "fastfn")
    cmds = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import typer'": [python, "-c", "import typer"],
        "fastfn --help": [fastfn, "--help"],
        "fastfn cloud --help": [fastfn, "cloud", "--help"],
    }
    if compare_src:  # another source tree's CLI, first on sys.path
        cmds["fastfn --help (other src)"] = ["env", f"PYTHONPATH={compare_src}", fastfn,
                                             "--help"]
    return cmds


def run_once_cpu(argv: list[str]) -> tuple[float, float]:
    """(wall ms, child CPU ms)."""
    started = time.perf_counter()
    before = os.times()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = (time.perf_counter() - started) * 1000
    after = os.times()
    if proc.returncode:
        raise SystemExit(f"{argv} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    cpu = ((after.children_user - before.children_user)
           + (after.children_system - before.children_system)) * 1000
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--compare-src", metavar="DIR",
                        help="also time `fastfn --help` from another tree's src/ directory")
    args = parser.parse_args(argv)
    cmds = commands(args.compare_src)
    # Bytecode first: with PYTHONDONTWRITEBYTECODE set (or a fresh checkout) every run would
    # compile the CLI from source, which is not what an installed fastfn does.
    trees = [str(ROOT / "src")] + ([args.compare_src] if args.compare_src else [])
    subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q", *trees],
                   stdout=subprocess.DEVNULL, check=True)
    names = list(cmds)
    for name in names:  # warm the page cache and any missing .pyc
        run_once_cpu(cmds[name])
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            w, c = run_once_cpu(cmds[name])
            wall[name].append(w)
            cpu[name].append(c)
    base = statistics.median(wall["python -c pass"])
    typer_ms = statistics.median(wall["python -c 'import typer'"])
    print(f"{args.rounds} rotated rounds, ms (project venv, {sys.version.split()[0]})")
    print(f"{'command':<28}{'wall med':>9}{'min':>7}{'CPU med':>9}{'/ pass':>8}{'/ typer':>9}")
    for name in names:
        med = statistics.median(wall[name])
        print(f"{name:<28}{med:>9.1f}{min(wall[name]):>7.1f}{statistics.median(cpu[name]):>9.1f}"
              f"{med / base:>8.2f}{med / typer_ms:>9.2f}")
    helps = wall["fastfn --help"]
    # Paired per round: the CLI's own cost over a bare interpreter in the same round.
    added = [h - p for h, p in zip(helps, wall["python -c pass"], strict=True)]
    print(f"fastfn --help - python -c pass (paired): median {statistics.median(added):.1f} ms")
    best = min(helps)
    print(f"fastfn --help: min {best:.1f} ms, median {statistics.median(helps):.1f} ms "
          f"(target <= {TARGET_MS:.0f} ms on an idle machine): "
          f"{'met' if best <= TARGET_MS else 'MISSED'} [min as the idle figure]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
