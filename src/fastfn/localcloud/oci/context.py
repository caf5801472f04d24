"""Moved to fastfn.localcloud.oci.core.context; this name stays for deploy and the examples,
which import CloudIdentity from here (re-point them to `running()` or core.context)."""

from fastfn.localcloud.oci.core.context import CloudContext, CloudIdentity

__all__ = ["CloudContext", "CloudIdentity"]
