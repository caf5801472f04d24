"""Phase 2: credentials for OCI calls, once per function instance.

On OCI Functions the resource principal (OCI_RESOURCE_PRINCIPAL_VERSION is set); the signer
refreshes its own token, so one per instance is right. Outside a function (a developer
running the app by hand) the oci config file. FASTFN_OCI_ENDPOINT, when set, names the
endpoint to use instead of the region's default (the local cloud sets it, as the secrets
module of the runtime also honours it).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from mailer.errors import AuthError

_lock = threading.Lock()
_storage: Any = None
# Fail in seconds: the function's time budget is better spent on redelivery.
TIMEOUT = (5.0, 30.0)


def _signer_and_config(region: str) -> tuple[Any, dict[str, Any]]:
    import oci

    try:
        if os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
            signer = oci.auth.signers.get_resource_principals_signer()
            return signer, {"region": signer.region or region}
        config = oci.config.from_file(os.environ.get("OCI_CONFIG_FILE", "~/.oci/config"))
        return None, config
    except Exception as exc:
        # The exception text may quote file paths but never key material.
        raise AuthError(f"no usable OCI credentials: {type(exc).__name__}") from None


def storage_client(region: str) -> Any:
    """The Object Storage client of this instance (created on first use)."""
    global _storage
    with _lock:
        if _storage is None:
            import oci

            signer, config = _signer_and_config(region)
            kwargs: dict[str, Any] = {"timeout": TIMEOUT,
                                      "retry_strategy": oci.retry.NoneRetryStrategy()}
            if signer is not None:
                kwargs["signer"] = signer
            endpoint = os.environ.get("FASTFN_OCI_ENDPOINT")
            if endpoint:
                kwargs["service_endpoint"] = endpoint
            _storage = oci.object_storage.ObjectStorageClient(config, **kwargs)
        return _storage
