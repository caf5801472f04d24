"""Local instances as real processes: started from an instance configuration's launch
details on their own loopback "private IP", stopped with SIGTERM then KILL after a grace."""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from fastfn.localcloud.process import Supervised

TERMINATE_GRACE_S = 10.0


def command_and_env(launch: dict[str, Any], private_ip: str,
                    name: str) -> tuple[list[str], dict[str, str], str | None, int]:
    """What the launch details say to run: metadata `entrypoint` (default: `python -m
    fastfn serve <fastfn_app> --http`), `workdir`, `PORT`, extendedMetadata `env`."""
    metadata = launch.get("metadata") or {}
    extended = launch.get("extendedMetadata") or {}
    env = {str(k): str(v) for k, v in (extended.get("env") or {}).items()}
    port = int(metadata.get("PORT") or env.get("PORT") or 8000)
    entry = metadata.get("entrypoint")
    if entry:
        argv = shlex.split(entry)
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
    else:
        argv = [sys.executable, "-m", "fastfn", "serve", metadata.get("fastfn_app", "app:app"),
                "--http"]
    full_env = {**os.environ, **env, "HOST": private_ip, "PORT": str(port),
                "INSTANCE_NAME": name}
    return argv, full_env, metadata.get("workdir"), port


def start(launch: dict[str, Any], private_ip: str, name: str) -> tuple[Supervised, int]:
    argv, env, cwd, port = command_and_env(launch, private_ip, name)
    process = Supervised(name, argv, env=env, cwd=cwd, output=None)  # output as the cloud's
    process.start()
    return process, port


async def stop(process: Supervised, grace_s: float = TERMINATE_GRACE_S) -> None:
    """SIGTERM so the app drains, then KILL (the group) if it has not exited in the grace."""
    if process.alive:
        await process.astop(grace_s)
