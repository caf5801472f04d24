"""Resource principal credentials for the functions the local cloud runs.

A function on OCI gets `OCI_RESOURCE_PRINCIPAL_VERSION=2.2` with an RPST (a JWT whose
`jwk` claim is a session public key), the session private key and the region; the oci
SDK's `oci.auth.signers.get_resource_principals_signer()` turns them into an
`EphemeralResourcePrincipalSigner` that signs with keyId `ST$<rpst>`. We give the same
variables, with a token this cloud issued, so service code runs unchanged.

The values are file paths (the SDK's "second mode": absolute paths are read, and re-read
when the token nears expiry), so a token can be refreshed under a warm instance.

The SDK builds service URLs as `https://<service>.<region>.oraclecloud.com` from the
region and offers no variable to change that; what it does honour, through its vendored
requests, is HTTPS_PROXY and REQUESTS_CA_BUNDLE. So functions also get those, pointing at
the local cloud's CONNECT proxy (proxy.py), which serves those host names with
certificates from the local CA.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastfn.localcloud.oci.core.auth import TokenAuthority, generate_key, private_pem
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.files import replace_atomically

TOKEN_TTL_S = 3600
REFRESH_AFTER_S = TOKEN_TTL_S // 2
# Realm "oc1" and its domain, as OCI_REGION_METADATA describes a region on OCI.
_REALM = {"realmKey": "oc1", "realmDomainComponent": "oraclecloud.com"}


class ResourcePrincipals:
    def __init__(self, ctx: CloudContext, tokens: TokenAuthority) -> None:
        self.ctx = ctx
        self.tokens = tokens
        self._issued: dict[str, float] = {}

    def _paths(self, fn_id: str) -> tuple[Path, Path]:
        import hashlib

        name = hashlib.sha256(fn_id.encode()).hexdigest()[:16]
        directory = self.ctx.layout.resource_principals / name
        return directory / "rpst", directory / "private.pem"

    def refresh(self, fn: dict[str, Any]) -> tuple[Path, Path]:
        """Write (or renew) the function's session key and token files."""
        token_path, key_path = self._paths(fn["id"])
        issued = self._issued.get(fn["id"])
        if issued is not None and time.time() - issued < REFRESH_AFTER_S and token_path.exists():
            return token_path, key_path
        token_path.parent.mkdir(parents=True, exist_ok=True)
        token_path.parent.chmod(0o700)
        session_key = generate_key()
        token = self.tokens.issue(fn["id"], "fnfunc", fn["compartmentId"],
                                  session_key.public_key(), ttl_s=TOKEN_TTL_S)
        # Key first, then token: a reader that sees the new token finds the new key.
        _write_private(key_path, private_pem(session_key))
        _write_private(token_path, token.encode())
        self._issued[fn["id"]] = time.time()
        return token_path, key_path

    def environment(self, fn: dict[str, Any]) -> dict[str, str]:
        token_path, key_path = self.refresh(fn)
        region = self.ctx.identity.region
        env = {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(token_path.resolve()),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(key_path.resolve()),
            "OCI_RESOURCE_PRINCIPAL_REGION": region,
            "OCI_REGION_METADATA": json.dumps({**_REALM, "regionKey": region_key(region),
                                               "regionIdentifier": region}),
            # For code that passes service_endpoint itself (FunctionsInvokeClient must).
            "FASTFN_OCI_ENDPOINT": self.ctx.endpoint,
        }
        env.update(proxy_environment(self.ctx))
        return env


def proxy_environment(ctx: CloudContext) -> dict[str, str]:
    if not ctx.proxy_url or ctx.ca_bundle is None:
        return {}
    bundle = str(ctx.ca_bundle.resolve())
    return {
        "HTTPS_PROXY": ctx.proxy_url, "https_proxy": ctx.proxy_url,
        "REQUESTS_CA_BUNDLE": bundle,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    }


def region_key(region: str) -> str:
    import oci.regions  # only called when a function starts; the SDK is installed then

    for key, name in oci.regions.REGIONS_SHORT_NAMES.items():
        if name == region and len(key) == 3:
            return key.upper()
    return region.split("-")[1][:3].upper() if "-" in region else region[:3].upper()


def _write_private(path: Path, data: bytes) -> None:
    replace_atomically(path, data, 0o600)
