"""Deploy targets: each builds, observes, plans and applies for one platform; the
pipeline (models -> build -> plan -> execute -> state) is the same for all. The
interface is `targets.base.Target`; one module or folder per target."""

from __future__ import annotations

from fastfn.deploy.targets.base import REGISTRY, Target, TargetOptions, make_target

__all__ = ["REGISTRY", "Target", "TargetOptions", "make_target"]
