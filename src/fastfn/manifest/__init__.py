"""`fastfn.yaml`: one declarative description per service, with stages and one section per
target (oci, aws, pool). Validated with pydantic; every error names the key that is wrong.
An existing Fn `func.yaml` is read too (name, memory, timeout, config) so a seed project
works as is."""

from fastfn.manifest.common import (
    CONFIG_KEY,
    MAX_CONFIG_BYTES,
    ROUTE,
    ManifestError,
    ResolvedService,
)
from fastfn.manifest.core import SECTIONS, Manifest, Stage, TargetKind
from fastfn.manifest.load import MANIFEST_NAMES, from_func_yaml, load, parse
from fastfn.manifest.oci import MAX_TIMEOUT_S, MEMORY_MB, ResolvedFunction, Shape

__all__ = ["CONFIG_KEY", "MANIFEST_NAMES", "MAX_CONFIG_BYTES", "MAX_TIMEOUT_S", "MEMORY_MB",
           "ROUTE", "SECTIONS", "Manifest", "ManifestError", "ResolvedFunction",
           "ResolvedService", "Shape", "Stage", "TargetKind", "from_func_yaml", "load",
           "parse"]
