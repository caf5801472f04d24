"""Local OCI services that the real oci SDK talks to.

Object Storage, Vault/Secrets, Functions (on the local Fn platform), Events, and
read-only Identity/networking, behind OCI request signing. See cloud.py for the entry
points; heavy parts (uvicorn, the Fn platform) load only when a cloud starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastfn.localcloud.oci.cloud import LocalCloud, config_text, event_deliveries, serve
    from fastfn.localcloud.oci.core.layout import StateLayout
    from fastfn.localcloud.oci.discovery import RunningCloud, running
    from fastfn.localcloud.oci.images import ImageStore

__all__ = ["ImageStore", "LocalCloud", "RunningCloud", "StateLayout", "config_text",
           "event_deliveries", "running", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("LocalCloud", "config_text", "event_deliveries", "serve"):
        from fastfn.localcloud.oci import cloud

        return getattr(cloud, name)
    if name == "ImageStore":
        from fastfn.localcloud.oci.images import ImageStore

        return ImageStore
    if name in ("RunningCloud", "running"):
        from fastfn.localcloud.oci import discovery

        return getattr(discovery, name)
    if name == "StateLayout":
        from fastfn.localcloud.oci.core.layout import StateLayout

        return StateLayout
    raise AttributeError(name)
