"""Secrets for services: references resolved at start-up, values that never print.

A service is configured with references, never values (fastfn.yaml `secrets:` puts them in
the function's environment as NAME=reference):

    vault:<secret-ocid>     OCI Vault, through the oci SDK's SecretsClient (CURRENT version)
    ssm:<parameter name>    AWS SSM Parameter Store, through boto3 (SecureString decrypted)
    env:NAME                the environment variable NAME (local runs and tests)

    dsn = resolve_env("DB_DSN")          # the env var DB_DSN holds "vault:ocid1.vaultsecret..."
    pool = AsyncConnectionPool(dsn.reveal(), ...)

Resolved values are `Secret`s (value.py): repr, str and format show `Secret('**********')`;
the value comes out only through `reveal()`. Every value ever wrapped is also known to the
log redaction (redaction.py, `install_log_redaction()`), which masks it wherever it appears
in a log record. references.py holds the reference grammar (`reference_error` for the
manifest), cache.py the per-process TTL cache (default 300 s, FASTFN_SECRETS_TTL), and
backends/ one module per scheme; each imports its SDK only when a reference of its scheme
is resolved, and this package imports nothing else from fastfn (it ships in function
images). A first resolution that fails raises SecretResolutionError, whose message names
the reference, never a value.
"""

from __future__ import annotations

from fastfn.runtime.secrets.backends.oci_vault import (
    CONFIG_FILE_ENV,
    CONFIG_PROFILE_ENV,
    DEFAULT_CONFIG_FILE,
    ENDPOINT_ENV,
    RESOURCE_PRINCIPAL_ENV,
)
from fastfn.runtime.secrets.errors import SecretResolutionError
from fastfn.runtime.secrets.redaction import (
    MASK,
    MIN_REDACTED_LENGTH,
    SecretRedactingFilter,
    install_log_redaction,
    redact,
    redact_record,
)
from fastfn.runtime.secrets.references import SecretReference, is_reference, reference_error
from fastfn.runtime.secrets.resolver import (
    DEFAULT_TTL,
    SecretResolver,
    aresolve,
    aresolve_env,
    default_resolver,
    resolve,
    resolve_env,
)
from fastfn.runtime.secrets.value import Secret

__all__ = [
    "CONFIG_FILE_ENV",
    "CONFIG_PROFILE_ENV",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_TTL",
    "ENDPOINT_ENV",
    "MASK",
    "MIN_REDACTED_LENGTH",
    "RESOURCE_PRINCIPAL_ENV",
    "Secret",
    "SecretRedactingFilter",
    "SecretReference",
    "SecretResolutionError",
    "SecretResolver",
    "aresolve",
    "aresolve_env",
    "default_resolver",
    "install_log_redaction",
    "is_reference",
    "redact",
    "redact_record",
    "reference_error",
    "resolve",
    "resolve_env",
]
