"""`vault:<secret OCID>`: OCI Vault, through the oci SDK's SecretsClient (CURRENT version).

Credentials: the resource principal signer when OCI_RESOURCE_PRINCIPAL_VERSION is set (a
function on OCI), otherwise an API key from the oci config file (OCI_CONFIG_FILE, default
~/.oci/config; profile OCI_CONFIG_PROFILE, default DEFAULT). The endpoint is the SDK's
default for the region unless overridden (the resolver's `service_endpoint`, or
FASTFN_OCI_ENDPOINT). The oci SDK (~250 ms to import) is imported on the first fetch.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

from fastfn.runtime.secrets.backends.base import Scheme
from fastfn.runtime.secrets.errors import SecretResolutionError
from fastfn.runtime.secrets.value import Secret

log = logging.getLogger("fastfn.secrets")

ENDPOINT_ENV: Final = "FASTFN_OCI_ENDPOINT"
RESOURCE_PRINCIPAL_ENV: Final = "OCI_RESOURCE_PRINCIPAL_VERSION"
CONFIG_FILE_ENV: Final = "OCI_CONFIG_FILE"
CONFIG_PROFILE_ENV: Final = "OCI_CONFIG_PROFILE"
DEFAULT_CONFIG_FILE: Final = "~/.oci/config"
# Start-up must fail in seconds, not after the SDK's default retries (minutes).
_CONNECT_TIMEOUT_S: Final = 5.0
_READ_TIMEOUT_S: Final = 10.0
_MAX_ATTEMPTS: Final = 3
_RETRY_BASE_SLEEP_S: Final = 0.25

_SECRET_OCID = re.compile(r"ocid1\.vaultsecret\.[A-Za-z0-9._-]+")


def _target_error(target: str) -> str | None:
    if _SECRET_OCID.fullmatch(target):
        return None
    return ("a vault reference is 'vault:<secret OCID>' and secret OCIDs start with "
            "ocid1.vaultsecret.")


def service_endpoint(environ: Mapping[str, str], override: str | None) -> str | None:
    return override or environ.get(ENDPOINT_ENV) or None


class OciVaultBackend:
    def __init__(self, environ: Mapping[str, str], endpoint: str | None = None) -> None:
        self._environ = environ
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._client: Any = None

    @property
    def service_endpoint(self) -> str | None:
        return service_endpoint(self._environ, self._endpoint)

    def fetch(self, target: str, reference: str, name: str | None) -> Secret:
        began = time.perf_counter()
        client = self._secrets_client(reference, name)
        import oci  # already imported by _secrets_client; here for the names

        try:
            response = client.get_secret_bundle(target)
        except oci.exceptions.ServiceError as exc:
            raise SecretResolutionError(reference, f"{exc.code} (HTTP {exc.status})",
                                        name=name) from None
        except Exception as exc:  # connection refused, timeout, TLS, proxy: no value in these
            where = self.service_endpoint or "the region's Secrets endpoint"
            raise SecretResolutionError(reference, f"cannot reach {where}: "
                                        f"{type(exc).__name__}", name=name) from None
        content = response.data.secret_bundle_content
        if getattr(content, "content_type", "BASE64") != "BASE64" or content.content is None:
            raise SecretResolutionError(reference, "the secret bundle has no BASE64 content",
                                        name=name)
        try:
            value = base64.b64decode(content.content, validate=True)
        except (binascii.Error, ValueError):
            raise SecretResolutionError(reference, "the secret bundle content is not valid "
                                        "base64", name=name) from None
        log.info("secret resolved from Vault",
                 extra={"reference": reference, "version": response.data.version_number,
                        "ms": round((time.perf_counter() - began) * 1000, 1)})
        return Secret(value)

    def _secrets_client(self, reference: str, name: str | None) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                import oci
            except ImportError:
                raise SecretResolutionError(reference, "the oci SDK is not installed (install "
                                            "fastfn[oci])", name=name) from None
            kwargs: dict[str, Any] = {
                "timeout": (_CONNECT_TIMEOUT_S, _READ_TIMEOUT_S),
                "retry_strategy": oci.retry.RetryStrategyBuilder(
                    max_attempts_check=True, max_attempts=_MAX_ATTEMPTS,
                    total_elapsed_time_check=True,
                    total_elapsed_time_seconds=int(_READ_TIMEOUT_S * _MAX_ATTEMPTS),
                    retry_base_sleep_time_seconds=_RETRY_BASE_SLEEP_S,
                    retry_max_wait_between_calls_seconds=1,
                ).get_retry_strategy(),
            }
            if self.service_endpoint:
                kwargs["service_endpoint"] = self.service_endpoint
            try:
                if self._environ.get(RESOURCE_PRINCIPAL_ENV):
                    signer = oci.auth.signers.get_resource_principals_signer()
                    client = oci.secrets.SecretsClient({"region": signer.region},
                                                       signer=signer, **kwargs)
                else:
                    client = oci.secrets.SecretsClient(self._api_key_config(oci), **kwargs)
            except Exception as exc:
                raise SecretResolutionError(reference, f"no usable OCI credentials: "
                                            f"{_credential_problem(exc)}", name=name) from None
            self._client = client
            return client

    def _api_key_config(self, oci: Any) -> dict[str, Any]:
        path = self._environ.get(CONFIG_FILE_ENV) or DEFAULT_CONFIG_FILE
        profile = self._environ.get(CONFIG_PROFILE_ENV) or "DEFAULT"
        if not os.path.isfile(os.path.expanduser(path)):
            raise FileNotFoundError(f"the oci config file {path} does not exist (set "
                                    f"{CONFIG_FILE_ENV}, or run with a resource principal)")
        config: dict[str, Any] = oci.config.from_file(file_location=path, profile_name=profile)
        oci.config.validate_config(config)
        return config


def _credential_problem(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    # oci's config errors name files, profiles and keys, not key material.
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


SCHEME = Scheme("vault", "vault:<secret OCID>", _target_error, OciVaultBackend)
