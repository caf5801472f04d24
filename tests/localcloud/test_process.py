"""The process supervisor against real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fastfn.localcloud.process import (
    ProcessStartError,
    Supervised,
    path_exists,
    pid_alive,
    reap_leftover,
)

PY = sys.executable


def _script(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def _wait_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_log_pump_names_the_process_and_keeps_both_streams(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    proc = Supervised("talker", _script("""
        import sys
        print("out one", flush=True)
        print("err one", file=sys.stderr, flush=True)
        sys.stdout.write("no newline at end")
    """), on_line=lambda name, line: lines.append((name, line)))
    proc.start()
    assert asyncio.run(proc.wait()) == 0
    proc.kill()
    assert ("talker", "out one") in lines
    assert ("talker", "err one") in lines
    assert ("talker", "no newline at end") in lines


def test_env_and_cwd_are_the_given_ones(tmp_path: Path) -> None:
    lines: list[str] = []
    proc = Supervised("env", _script("import os; print(os.environ['ONLY'], os.getcwd())"),
                      env={"ONLY": "this"}, cwd=tmp_path,
                      on_line=lambda _n, line: lines.append(line))
    proc.start()
    proc.popen.wait(10)  # type: ignore[union-attr]
    proc.kill()
    assert lines == [f"this {tmp_path}"]


def test_readiness_on_a_file_appearing(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    proc = Supervised("slow", _script(f"""
        import time, pathlib
        time.sleep(0.2)
        pathlib.Path({str(marker)!r}).touch()
        time.sleep(60)
    """))
    proc.start()
    try:
        proc.wait_ready(path_exists(marker), timeout=10)
        assert marker.exists() and proc.alive
    finally:
        proc.stop(grace_s=2)
    assert not proc.alive


def test_exit_before_ready_carries_the_last_output(tmp_path: Path) -> None:
    proc = Supervised("broken", _script("""
        import sys
        print("configuration is wrong: port", file=sys.stderr)
        sys.exit(3)
    """), on_line=lambda _n, _l: None)
    proc.start()
    with pytest.raises(ProcessStartError, match="configuration is wrong: port") as info:
        proc.wait_ready(path_exists(tmp_path / "never"), timeout=10)
    assert info.value.returncode == 3
    assert "exited with status 3" in str(info.value)


def test_readiness_timeout_kills_and_reports(tmp_path: Path) -> None:
    proc = Supervised("silent", _script("print('still thinking', flush=True); "
                                        "import time; time.sleep(60)"),
                      on_line=lambda _n, _l: None)
    proc.start()
    pid = proc.pid
    with pytest.raises(ProcessStartError, match=r"not ready within 0\.5 s") as info:
        proc.wait_ready(path_exists(tmp_path / "never"), timeout=0.5)
    assert "still thinking" in info.value.output
    assert not pid_alive(pid)


def test_async_readiness_races_the_exit(tmp_path: Path) -> None:
    async def scenario() -> None:
        proc = Supervised("quits", _script("print('bye'); raise SystemExit(5)"),
                          on_line=lambda _n, _l: None)
        proc.start()
        with pytest.raises(ProcessStartError, match="bye"):
            await proc.await_ready(asyncio.sleep(30), timeout=10)
        assert proc.returncode == 5
    asyncio.run(scenario())


IGNORES_TERM = """
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring", flush=True)
    time.sleep(60)
"""


def _started_ignoring_term(lines: list[str]) -> Supervised:
    proc = Supervised("stubborn", _script(IGNORES_TERM),
                      on_line=lambda _n, line: lines.append(line))
    proc.start()
    proc.wait_ready(lambda: "ignoring" in lines, timeout=10)
    return proc


def test_term_then_kill_for_a_process_ignoring_term() -> None:
    proc = _started_ignoring_term([])
    began = time.monotonic()
    code = proc.stop(grace_s=0.5)
    elapsed = time.monotonic() - began
    assert code == -signal.SIGKILL
    assert 0.5 <= elapsed < 5


def test_async_term_then_kill() -> None:
    proc = _started_ignoring_term([])

    async def stop() -> int | None:
        return await proc.astop(grace_s=0.3)
    assert asyncio.run(stop()) == -signal.SIGKILL


def test_term_is_enough_for_a_process_that_honours_it() -> None:
    lines: list[str] = []
    proc = Supervised("polite", _script("print('up', flush=True); import time; time.sleep(60)"),
                      on_line=lambda _n, line: lines.append(line))
    proc.start()
    proc.wait_ready(lambda: "up" in lines, timeout=10)
    assert proc.stop(grace_s=5) == -signal.SIGTERM


def test_restart_gives_a_new_process() -> None:
    lines: list[str] = []
    proc = Supervised("again", _script("import os; print(os.getpid(), flush=True); "
                                       "import time; time.sleep(60)"),
                      on_line=lambda _n, line: lines.append(line))
    proc.start()
    proc.wait_ready(lambda: len(lines) == 1, timeout=10)
    first = proc.pid
    proc.restart(grace_s=2)
    proc.wait_ready(lambda: len(lines) == 2, timeout=10)
    try:
        assert proc.pid != first and not pid_alive(first)
        assert lines[1] == str(proc.pid)
    finally:
        proc.stop(grace_s=2)


PARENT = """
    import sys, time
    from fastfn.localcloud.process import Supervised
    child = Supervised("child", [sys.executable, "-c", "import time; time.sleep(120)"])
    child.start()
    print(child.pid, flush=True)
    time.sleep(120)
"""


def test_child_dies_when_its_parent_is_sigkilled() -> None:
    parent = subprocess.Popen(_script(PARENT), stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert pid_alive(child_pid)
        parent.kill()
        parent.wait(10)
        assert _wait_gone(child_pid, 2.0), "child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        parent.wait()


def test_a_pid_file_leftover_is_killed_at_the_next_start(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # A leftover that survived its parent (it reset its parent-death signal, say).
    survivor = subprocess.Popen([PY, "-c", "import time; time.sleep(120)"],
                                start_new_session=True)
    try:
        started = Path(f"/proc/{survivor.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19]
        pid_file.write_text(f"{survivor.pid} {started.decode()}\n")
        proc = Supervised("next", [PY, "-c", "import time; time.sleep(120)"],
                          pid_file=pid_file)
        proc.start()
        try:
            assert survivor.wait(5) == -signal.SIGKILL
            assert pid_file.read_text().split()[0] == str(proc.pid)
        finally:
            proc.stop(grace_s=2)
        assert not pid_file.exists()
    finally:
        survivor.kill()
        survivor.wait()


def test_a_stale_pid_file_spares_an_unrelated_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "stale.pid"
    pid_file.write_text(f"{os.getpid()} 1\n")  # our pid, but not our start time
    assert reap_leftover(pid_file) is False
    assert not pid_file.exists()


def test_a_child_started_from_a_short_lived_thread_outlives_that_thread(tmp_path) -> None:
    """The parent-death signal follows the process, not the thread that asked for the
    child (PR_SET_PDEATHSIG alone fires when the forking thread exits)."""
    import threading

    holder: dict = {}

    def start_in_thread() -> None:
        child = Supervised("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
        child.start()
        holder["child"] = child

    thread = threading.Thread(target=start_in_thread)
    thread.start()
    thread.join()
    child = holder["child"]
    try:
        time.sleep(0.5)
        assert child.alive
    finally:
        child.kill()
