"""Secrets for services: references resolved at start-up, values that never print.

A service is configured with references, never values (fastfn.yaml `secrets:` puts them in
the function's environment as NAME=reference):

    vault:<secret-ocid>   OCI Vault, through the oci SDK's SecretsClient (CURRENT version)
    env:NAME              the environment variable NAME (local runs and tests)

    dsn = resolve_env("DB_DSN")          # the env var DB_DSN holds "vault:ocid1.vaultsecret..."
    pool = AsyncConnectionPool(dsn.reveal(), ...)

Resolved values are `Secret`s: repr, str and format show `Secret('**********')`; the value
comes out only through `reveal()`. Every value ever wrapped is also known to the log
redaction (`install_log_redaction()`), which masks it wherever it appears in a log record
(message, arguments, exception text, `extra=` fields).

Credentials for `vault:` references: the resource principal signer when
OCI_RESOURCE_PRINCIPAL_VERSION is set (a function on OCI), otherwise an API key from the oci
config file (OCI_CONFIG_FILE, default ~/.oci/config; profile OCI_CONFIG_PROFILE, default
DEFAULT). The Secrets endpoint is the SDK's default for the region unless
`SecretResolver(service_endpoint=...)` or the environment variable FASTFN_OCI_ENDPOINT names
another (the local OCI cloud sets it for functions it runs; so can a service that must use a
private endpoint). The oci SDK (~250 ms to import) is imported only when a `vault:` reference
is resolved; this module imports nothing else from fastfn (it ships in function images).

Values are cached per process for `ttl` seconds (default 300). When a refresh after expiry
fails, the last value is kept and a warning names the reference: a rotation is picked up on
the next successful refresh, an outage of the Secrets service does not take a warm function
down. A first resolution that fails raises SecretResolutionError, whose message names the
reference, never a value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, NoReturn
from urllib.parse import unquote, urlsplit

log = logging.getLogger("fastfn.secrets")

MASK: Final = "**********"
DEFAULT_TTL: Final = 300.0
ENDPOINT_ENV: Final = "FASTFN_OCI_ENDPOINT"
RESOURCE_PRINCIPAL_ENV: Final = "OCI_RESOURCE_PRINCIPAL_VERSION"
CONFIG_FILE_ENV: Final = "OCI_CONFIG_FILE"
CONFIG_PROFILE_ENV: Final = "OCI_CONFIG_PROFILE"
DEFAULT_CONFIG_FILE: Final = "~/.oci/config"
# Values shorter than this are not searched for in log records: masking every "abc" in
# every line would garble logs while protecting nothing worth the name.
MIN_REDACTED_LENGTH: Final = 4
# Start-up must fail in seconds, not after the SDK's default retries (minutes).
_CONNECT_TIMEOUT_S: Final = 5.0
_READ_TIMEOUT_S: Final = 10.0
_MAX_ATTEMPTS: Final = 3
_RETRY_BASE_SLEEP_S: Final = 0.25

_VAULT_TARGET = re.compile(r"ocid1\.vaultsecret\.[A-Za-z0-9._-]+")
_ENV_TARGET = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SecretResolutionError(RuntimeError):
    """A secret reference is malformed or could not be resolved. Names the reference only."""

    def __init__(self, reference: str | None, reason: str, *, name: str | None = None) -> None:
        self.reference = reference
        self.reason = reason
        self.name = name
        subject = " ".join(part for part in (name, repr(reference) if reference else None)
                           if part)
        super().__init__(f"cannot resolve secret {subject or '(unnamed)'}: {reason}")


# -- the value type -------------------------------------------------------------------------


class Secret:
    """A secret value that shows as Secret('**********') in repr, str, f-strings and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes) -> None:
        self._value = value.encode() if isinstance(value, str) else bytes(value)
        _known_values.add(self._value)

    def reveal(self) -> str:
        """The value as text (UTF-8). Pass it straight to what needs it; don't keep copies."""
        try:
            return self._value.decode()
        except UnicodeDecodeError:
            raise ValueError("the secret is not UTF-8 text; use reveal_bytes()") from None

    get_secret_value = reveal  # pydantic's SecretStr spelling

    def reveal_bytes(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        # Pickling would carry the value into caches, queues and files unmasked.
        raise TypeError("Secret values cannot be pickled")


# -- log redaction ----------------------------------------------------------------------------


class _KnownValues:
    """Every secret value this process has held (and the password inside a URL-shaped one),
    longest first so a DSN is masked whole before its password is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.ordered: tuple[str, ...] = ()

    def add(self, raw: bytes) -> None:
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return
        candidates = {text}
        if "://" in text:
            try:
                password = urlsplit(text.strip()).password
            except ValueError:
                password = None
            if password:
                candidates |= {password, unquote(password)}
        fresh = {c for c in candidates if len(c) >= MIN_REDACTED_LENGTH} - self._values
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            self.ordered = tuple(sorted(self._values, key=len, reverse=True))


_known_values = _KnownValues()


def redact(text: str) -> str:
    """`text` with every known secret value replaced by **********."""
    for value in _known_values.ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


_RECORD_TEXT_SKIP = frozenset({"name", "levelname", "pathname", "filename", "module",
                               "funcName", "processName", "threadName", "taskName"})


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask known secret values in a record's message, arguments, exception and extras."""
    if not _known_values.ordered:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it itself later
        return record
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for key, value in list(vars(record).items()):
        if isinstance(value, str) and key not in _RECORD_TEXT_SKIP and key != "msg":
            setattr(record, key, redact(value))
    return record


class SecretRedactingFilter(logging.Filter):
    """A handler filter that masks known secret values (for handlers you set up yourself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_install_lock = threading.Lock()
_factory_installed = False


def install_log_redaction(*handlers: logging.Handler) -> SecretRedactingFilter:
    """Mask known secret values in log output. Idempotent; call once logging is set up.

    Two hooks, because neither covers everything alone: the log record factory is wrapped
    so every record's message, arguments and exception are masked whatever handler gets
    it (including handlers added later); and a SecretRedactingFilter goes on the root
    logger's current handlers and on `handlers`, which also masks `extra=` fields (logging
    sets those after the factory has returned). Handlers added later should get
    `handler.addFilter(SecretRedactingFilter())` too.
    """
    global _factory_installed
    with _install_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return redact_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True
        redaction = SecretRedactingFilter()
        for handler in (*logging.getLogger().handlers, *handlers):
            if not any(isinstance(f, SecretRedactingFilter) for f in handler.filters):
                handler.addFilter(redaction)
        return redaction


# -- references ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretReference:
    scheme: str  # "vault" or "env"
    target: str  # the secret OCID or the variable name

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"

    @classmethod
    def parse(cls, text: str, *, name: str | None = None) -> SecretReference:
        scheme, sep, target = text.strip().partition(":")
        if scheme == "vault" and sep:
            if not _VAULT_TARGET.fullmatch(target):
                raise SecretResolutionError(text, "a vault reference is 'vault:<secret OCID>' "
                                            "and secret OCIDs start with ocid1.vaultsecret.",
                                            name=name)
            return cls("vault", target)
        if scheme == "env" and sep:
            if not _ENV_TARGET.fullmatch(target):
                raise SecretResolutionError(text, "an env reference is 'env:NAME' with NAME "
                                            "an environment variable name", name=name)
            return cls("env", target)
        # Not echoed: what is here instead of a reference may be the secret itself.
        raise SecretResolutionError(
            None, "not a secret reference (the value is not shown): secrets are given as "
            "'vault:<secret OCID>' or 'env:NAME', never as values", name=name)


def is_reference(text: str) -> bool:
    try:
        SecretReference.parse(text)
    except SecretResolutionError:
        return False
    return True


# -- resolution ---------------------------------------------------------------------------------


@dataclass
class _Cached:
    secret: Secret
    expires: float


class SecretResolver:
    """Resolves references to Secrets, with a per-process TTL cache.

    Thread-safe: concurrent resolutions of one reference make one call to Vault, the
    others wait for it. `aresolve` runs the blocking SDK call in a worker thread.
    `clock` (monotonic seconds) and `environ` are injectable for tests; `ttl <= 0` disables
    the cache. `service_endpoint` overrides the Secrets endpoint (else FASTFN_OCI_ENDPOINT,
    else the SDK's default for the region).
    """

    def __init__(self, *, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic,
                 environ: Mapping[str, str] | None = None,
                 service_endpoint: str | None = None) -> None:
        self.ttl = ttl
        self._clock = clock
        self._environ = environ if environ is not None else os.environ
        self._service_endpoint = service_endpoint
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._client: Any = None

    @property
    def service_endpoint(self) -> str | None:
        return self._service_endpoint or self._environ.get(ENDPOINT_ENV) or None

    def resolve(self, reference: str, *, name: str | None = None) -> Secret:
        ref = SecretReference.parse(reference, name=name)
        key = str(ref)
        cached = self._fresh(key)
        if cached is not None:
            return cached
        with self._key_lock(key):
            cached = self._fresh(key)  # another thread may have resolved it meanwhile
            if cached is not None:
                return cached
            stale = self._cache.get(key)
            try:
                secret = self._fetch(ref, name)
            except SecretResolutionError as exc:
                if stale is None:
                    raise
                log.warning("secret refresh failed; keeping the previous value",
                            extra={"reference": key, "reason": exc.reason})
                stale.expires = self._clock() + self.ttl
                return stale.secret
            if self.ttl > 0:
                self._cache[key] = _Cached(secret, self._clock() + self.ttl)
            # From the first secret on, log output is masked; until then it costs nothing.
            install_log_redaction()
            return secret

    async def aresolve(self, reference: str, *, name: str | None = None) -> Secret:
        cached = self._fresh(str(SecretReference.parse(reference, name=name)))
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.resolve, reference, name=name)

    def resolve_env(self, variable: str) -> Secret:
        """Resolve the reference held by environment variable (function config key)
        `variable`, as fastfn.yaml `secrets:` delivers them."""
        reference = self._environ.get(variable)
        if reference is None:
            raise SecretResolutionError(None, f"environment variable {variable} is not set",
                                        name=variable)
        return self.resolve(reference, name=variable)

    async def aresolve_env(self, variable: str) -> Secret:
        reference = self._environ.get(variable)
        if reference is None:
            raise SecretResolutionError(None, f"environment variable {variable} is not set",
                                        name=variable)
        return await self.aresolve(reference, name=variable)

    def invalidate(self, reference: str | None = None) -> None:
        """Forget one cached value (or all): the next resolve fetches again."""
        with self._lock:
            if reference is None:
                self._cache.clear()
            else:
                self._cache.pop(str(SecretReference.parse(reference)), None)

    # internals

    def _fresh(self, key: str) -> Secret | None:
        cached = self._cache.get(key)
        if cached is not None and self._clock() < cached.expires:
            return cached.secret
        return None

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def _fetch(self, ref: SecretReference, name: str | None) -> Secret:
        if ref.scheme == "env":
            value = self._environ.get(ref.target)
            if value is None:
                raise SecretResolutionError(str(ref), f"environment variable {ref.target} is "
                                            "not set", name=name)
            return Secret(value)
        return self._fetch_vault(ref, name)

    def _fetch_vault(self, ref: SecretReference, name: str | None) -> Secret:
        began = time.perf_counter()
        client = self._secrets_client(ref, name)
        import oci  # already imported by _secrets_client; here for the names

        try:
            response = client.get_secret_bundle(ref.target)
        except oci.exceptions.ServiceError as exc:
            raise SecretResolutionError(str(ref), f"{exc.code} (HTTP {exc.status})",
                                        name=name) from None
        except Exception as exc:  # connection refused, timeout, TLS, proxy: no value in these
            where = self.service_endpoint or "the region's Secrets endpoint"
            raise SecretResolutionError(str(ref), f"cannot reach {where}: "
                                        f"{type(exc).__name__}", name=name) from None
        content = response.data.secret_bundle_content
        if getattr(content, "content_type", "BASE64") != "BASE64" or content.content is None:
            raise SecretResolutionError(str(ref), "the secret bundle has no BASE64 content",
                                        name=name)
        try:
            value = base64.b64decode(content.content, validate=True)
        except (binascii.Error, ValueError):
            raise SecretResolutionError(str(ref), "the secret bundle content is not valid "
                                        "base64", name=name) from None
        log.info("secret resolved from Vault",
                 extra={"reference": str(ref), "version": response.data.version_number,
                        "ms": round((time.perf_counter() - began) * 1000, 1)})
        return Secret(value)

    def _secrets_client(self, ref: SecretReference, name: str | None) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                import oci
            except ImportError:
                raise SecretResolutionError(str(ref), "the oci SDK is not installed (install "
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
            except SecretResolutionError:
                raise
            except Exception as exc:
                raise SecretResolutionError(str(ref), f"no usable OCI credentials: "
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


# -- the process-wide resolver ------------------------------------------------------------------

_default: SecretResolver | None = None
_default_lock = threading.Lock()


def default_resolver() -> SecretResolver:
    """The resolver shared by this process (TTL from FASTFN_SECRETS_TTL, default 300 s)."""
    global _default
    with _default_lock:
        if _default is None:
            raw = os.environ.get("FASTFN_SECRETS_TTL", "")
            try:
                ttl = float(raw) if raw else DEFAULT_TTL
            except ValueError:
                log.warning("FASTFN_SECRETS_TTL is not a number; using the default",
                            extra={"default_s": DEFAULT_TTL})
                ttl = DEFAULT_TTL
            _default = SecretResolver(ttl=ttl)
        return _default


def resolve(reference: str, *, name: str | None = None) -> Secret:
    return default_resolver().resolve(reference, name=name)


async def aresolve(reference: str, *, name: str | None = None) -> Secret:
    return await default_resolver().aresolve(reference, name=name)


def resolve_env(variable: str) -> Secret:
    return default_resolver().resolve_env(variable)


async def aresolve_env(variable: str) -> Secret:
    return await default_resolver().aresolve_env(variable)
