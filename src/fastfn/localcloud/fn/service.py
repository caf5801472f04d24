"""A service directory and its manifest, as the local Fn platform runs it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastfn.localcloud.fn.platform import FunctionSpec
from fastfn.manifest import ResolvedFunction


def local_ocid(kind: str, name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:24]
    return f"ocid1.{kind}.oc1.local.{digest}"


def function_spec(service_dir: Path, fn: ResolvedFunction, app_name: str = "local",
                  extra_config: dict[str, str] | None = None) -> FunctionSpec:
    config = fn.function_config()
    config.update(extra_config or {})
    return FunctionSpec(
        fn_id=local_ocid("fnfunc", f"{app_name}/{fn.name}"),
        fn_name=fn.name,
        app_id=local_ocid("fnapp", app_name),
        app_name=app_name,
        source_dir=service_dir.resolve(),
        app=fn.app,
        config=config,
        memory_mb=fn.memory,
        timeout_s=float(fn.timeout),
    )
