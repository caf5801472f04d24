"""Local instances as real processes: started from an instance configuration's launch
details on their own loopback "private IP", stopped with SIGTERM then KILL after a grace.

What runs: metadata `container_image` (`repo:tag@sha256:...`, as the cloud-init of a
real instance pulls and runs it) names an image of the cloud's image store, whose
entrypoint is `python -m fastfn serve <app> --http` in the image's files. An image that
cannot be pulled leaves the instance running without the app, as a VM whose cloud-init
failed: it never passes a health check. Without an image, metadata `entrypoint`
(default: `python -m fastfn serve <fastfn_app> --http`) runs in `workdir`.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import TYPE_CHECKING, Any

from fastfn.localcloud.process import Supervised

if TYPE_CHECKING:
    from fastfn.localcloud.oci.images import ImageStore

TERMINATE_GRACE_S = 10.0
_NO_IMAGE = ("import sys, time; print('image pull failed: ' + sys.argv[1], flush=True); "
             "time.sleep(10**6)")


def _serve(app: str) -> list[str]:
    return [sys.executable, "-m", "fastfn", "serve", app, "--http"]


def command_and_env(launch: dict[str, Any], private_ip: str, name: str,
                    images: ImageStore | None = None,
                    ) -> tuple[list[str], dict[str, str], str | None, int]:
    """What the launch details say to run, with its env, cwd and port (`PORT`)."""
    metadata = launch.get("metadata") or {}
    extended = launch.get("extendedMetadata") or {}
    env = {str(k): str(v) for k, v in (extended.get("env") or {}).items()}
    port = int(metadata.get("PORT") or env.get("PORT") or 8000)
    cwd = metadata.get("workdir")
    image = metadata.get("container_image")
    if image:
        record = images.resolve(image) if images is not None else None
        if record is None:
            argv = [sys.executable, "-c", _NO_IMAGE, image]
        else:
            argv = _serve(record.app)
            cwd = os.fspath(record.source_dir)
    elif entry := metadata.get("entrypoint"):
        argv = shlex.split(entry)
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
    else:
        argv = _serve(metadata.get("fastfn_app", "app:app"))
    full_env = {**os.environ, **env, "HOST": private_ip, "PORT": str(port),
                "INSTANCE_NAME": name}
    return argv, full_env, cwd, port


def start(launch: dict[str, Any], private_ip: str, name: str,
          images: ImageStore | None = None) -> tuple[Supervised, int]:
    argv, env, cwd, port = command_and_env(launch, private_ip, name, images)
    process = Supervised(name, argv, env=env, cwd=cwd, output=None)  # output as the cloud's
    process.start()
    return process, port


async def stop(process: Supervised, grace_s: float = TERMINATE_GRACE_S) -> None:
    """SIGTERM so the app drains, then KILL (the group) if it has not exited in the grace."""
    if process.alive:
        await process.astop(grace_s)
