"""One instance of an image: its OCI runtime config and the command that runs it.

With crun the function gets its own mount, pid, ipc and uts namespaces, and a user
namespace in which it is uid/gid 1000 (mapped to the uid running the cloud, so the files
the platform hands it, the socket directory and the resource principal's key, are its
own), no capabilities, a read-only root, a writable tmpfs `/tmp`, the socket directory at
`/tmp/iofs` (where OCI's agent puts it) and the host's network, so the local cloud's proxy
and databases on loopback are reachable. Host files named by the environment (the
resource principal's token and key, the proxy's CA bundle) are bind-mounted read-only
at the same paths.

Where crun or user namespaces are refused, the fallback is a chroot of the unpacked
rootfs as uid 1000: no read-only root and no private /tmp, and the socket directory and
those files are placed inside the rootfs (under /tmp/fastfn/<instance>) instead.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fastfn.localcloud.fn.image_runtime.pull import PulledImage

log = logging.getLogger("fastfn.localcloud.fn.image")

FUNCTION_UID = 1000  # what OCI Functions runs a function as
SOCKET_DIR_IN_CONTAINER = "/tmp/iofs"
ISOLATION_ENV = "FASTFN_IMAGE_ISOLATION"  # "crun" or "chroot"; probed when unset


class Isolation(enum.StrEnum):
    CRUN = "crun"
    CHROOT = "chroot"


@functools.cache
def _probe() -> Isolation:
    if shutil.which("crun") is None:
        log.warning("crun is not installed: function images run in a chroot as uid %d "
                    "(no namespaces, no read-only root)", FUNCTION_UID)
        return Isolation.CHROOT
    try:
        done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--pid",
                               "--fork", "true"], capture_output=True, timeout=10, check=False)
        refused = done.returncode != 0
    except (OSError, subprocess.TimeoutExpired):
        refused = True
    if refused:
        log.warning("this kernel refuses user/mount namespaces: function images run in a "
                    "chroot as uid %d (no read-only root, no private /tmp)", FUNCTION_UID)
        return Isolation.CHROOT
    return Isolation.CRUN


_UNIFIED = "/sys/fs/cgroup/unified"


@functools.cache
def _hybrid_cgroups() -> bool:
    try:
        return bool(Path(_UNIFIED, "cgroup.controllers").read_text().split())
    except OSError:
        return False


def isolation() -> Isolation:
    chosen = os.environ.get(ISOLATION_ENV, "").strip().lower()
    if chosen:
        try:
            return Isolation(chosen)
        except ValueError:
            raise ValueError(f"{ISOLATION_ENV} must be crun or chroot, got {chosen!r}"
                             ) from None
    return _probe()


@dataclass(frozen=True)
class Launch:
    """How the supervisor starts one image instance."""

    argv: list[str]
    env: dict[str, str]  # the environment of the launcher itself, not of the function
    cwd: Path
    socket_dir: Path  # on the host: where lsnr.sock appears
    cleanup: list[list[str]]  # commands that remove what the launch left behind


def _host_files(env: dict[str, str]) -> list[Path]:
    """Absolute paths of existing host files the environment names (token, key, CA)."""
    found = []
    for value in env.values():
        if value.startswith("/") and "\n" not in value and len(value) < 4096:
            path = Path(value)
            if path.is_file():
                found.append(path)
    return found


def _process_env(image: PulledImage, env: dict[str, str]) -> dict[str, str]:
    merged = image.config.environment()
    merged.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    merged.update(env)
    return merged


def runtime_config(image: PulledImage, env: dict[str, str], socket_dir: Path,
                   hostname: str) -> dict[str, object]:
    """The OCI runtime spec (config.json) of one crun instance."""
    process_env = _process_env(image, env)
    process_env["HOME"] = "/tmp"
    mounts: list[dict[str, object]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", "size=524288k"]},
        {"destination": SOCKET_DIR_IN_CONTAINER, "type": "bind",
         "source": os.fspath(socket_dir), "options": ["rbind", "rw", "nosuid", "nodev"]},
    ]
    for path in _host_files(env):
        mounts.append({"destination": os.fspath(path.parent), "type": "bind",
                       "source": os.fspath(path.parent),
                       "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]})
    no_caps: list[str] = []
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": FUNCTION_UID, "gid": FUNCTION_UID},
            "args": image.config.argv,
            "env": [f"{k}={v}" for k, v in process_env.items()],
            "cwd": image.config.working_dir,
            "capabilities": {key: no_caps for key in
                             ("bounding", "effective", "inheritable", "permitted",
                              "ambient")},
            "noNewPrivileges": True,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096}],
        },
        "root": {"path": os.fspath(image.rootfs), "readonly": True},
        "hostname": hostname,
        "mounts": _dedupe(mounts),
        "linux": {
            # No network namespace: the function shares the host's loopback.
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
            "uidMappings": [{"containerID": FUNCTION_UID, "hostID": os.geteuid(), "size": 1}],
            "gidMappings": [{"containerID": FUNCTION_UID, "hostID": os.getegid(), "size": 1}],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list",
                            "/proc/sched_debug", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def _dedupe(mounts: list[dict[str, object]]) -> list[dict[str, object]]:
    seen: set[object] = set()
    out = []
    for mount in mounts:
        if mount["destination"] not in seen:
            seen.add(mount["destination"])
            out.append(mount)
    return out


def prepare_launch(image: PulledImage, env: dict[str, str], instance_dir: Path,
                   name: str, mode: Isolation) -> Launch:
    """Write what one instance needs under `instance_dir` and say how to start it."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    if mode is Isolation.CRUN:
        socket_dir = instance_dir / "iofs"
        socket_dir.mkdir()
        env = {**env, "FN_LISTENER": f"unix:{SOCKET_DIR_IN_CONTAINER}/lsnr.sock"}
        config = runtime_config(image, env, socket_dir, hostname=name[:63])
        (instance_dir / "config.json").write_text(json.dumps(config, indent=1))
        state = instance_dir / "crun"
        base = ["crun", "--root", os.fspath(state), "--cgroup-manager=disabled"]
        argv = [*base, "run", "--bundle", os.fspath(instance_dir), name]
        if _hybrid_cgroups():
            # crun refuses a cgroup v2 hierarchy that has controllers beside v1 ones, even
            # with cgroups disabled: hide it from crun in a mount namespace of its own.
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    f"mount -t tmpfs none {_UNIFIED} && exec \"$@\"", "sh", *argv]
        return Launch(argv=argv,
                      env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                      cwd=instance_dir, socket_dir=socket_dir,
                      cleanup=[[*base, "delete", "--force", name]])
    return _chroot_launch(image, env, instance_dir, name)


def _chroot_launch(image: PulledImage, env: dict[str, str], instance_dir: Path,
                   name: str) -> Launch:
    inside = Path("/tmp/fastfn") / name
    host_dir = image.rootfs / inside.relative_to("/")
    shutil.rmtree(host_dir, ignore_errors=True)
    host_dir.mkdir(parents=True)
    # The agent dials through a short link: the path inside the rootfs can be longer than
    # a unix socket path may be.
    (instance_dir / "iofs").symlink_to(host_dir)
    env = dict(env)
    for path in _host_files(env):
        copy = host_dir / "files" / path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy2(path, copy)
        for key, value in env.items():
            if value == os.fspath(path):
                env[key] = os.fspath(inside / "files" / path.name)
    env["FN_LISTENER"] = f"unix:{inside}/lsnr.sock"
    env["HOME"] = os.fspath(inside)
    for root, dirs, files in os.walk(host_dir):
        for entry in [root, *(os.path.join(root, f) for f in dirs + files)]:
            os.chown(entry, FUNCTION_UID, FUNCTION_UID)
    process_env = _process_env(image, env)
    workdir = image.config.working_dir
    script = 'cd "$1" && shift && exec "$@"'
    argv = [shutil.which("chroot") or "/usr/sbin/chroot",
            f"--userspec={FUNCTION_UID}:{FUNCTION_UID}", os.fspath(image.rootfs),
            "/bin/sh", "-c", script, "sh", workdir, *image.config.argv]
    return Launch(argv=argv, env=process_env, cwd=image.rootfs,
                  socket_dir=instance_dir / "iofs", cleanup=[["rm", "-rf", os.fspath(host_dir)]])


def reap_containers(instance_dir: Path) -> None:
    """Kill and delete what crun still runs from an instance directory (a run of the
    platform that was killed before it could stop its containers)."""
    state = instance_dir / "crun"
    if not state.is_dir() or shutil.which("crun") is None:
        return
    for container in state.iterdir():
        subprocess.run(["crun", "--root", os.fspath(state), "--cgroup-manager=disabled",
                        "delete", "--force", container.name], capture_output=True,
                       timeout=30, check=False)
