"""Files in the state dir that several processes (`cloud up`, `cloud config`, a deployer)
may create at the same moment."""

from __future__ import annotations

import os
from pathlib import Path


def _private_temp(path: Path, data: bytes, mode: int) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    return tmp


def create_once(path: Path, data: bytes, mode: int = 0o600) -> bytes:
    """Write `data` to `path` unless it exists; return what `path` holds afterwards.

    Never replaces an existing file: two processes that both generate a key or an identity
    end up using the same one (the first written), not one each.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _private_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        tmp.unlink()
    return data


def replace_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _private_temp(path, data, mode).replace(path)
