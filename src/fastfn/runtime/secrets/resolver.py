"""SecretResolver: reference -> backend -> Secret, through the TTL cache; and the
process-wide resolver behind `resolve`, `aresolve`, `resolve_env`, `aresolve_env`."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final

from fastfn.runtime.secrets.backends import SCHEMES, Backend, oci_vault
from fastfn.runtime.secrets.cache import SecretCache
from fastfn.runtime.secrets.errors import SecretResolutionError
from fastfn.runtime.secrets.redaction import install_log_redaction
from fastfn.runtime.secrets.references import SecretReference
from fastfn.runtime.secrets.value import Secret

log = logging.getLogger("fastfn.secrets")

DEFAULT_TTL: Final = 300.0
TTL_ENV: Final = "FASTFN_SECRETS_TTL"


class SecretResolver:
    """Resolves references to Secrets, with a per-process TTL cache.

    Thread-safe: concurrent resolutions of one reference make one call to the backend, the
    others wait for it. `aresolve` runs the blocking SDK call in a worker thread.
    `clock` (monotonic seconds) and `environ` are injectable for tests; `ttl <= 0` disables
    the cache. `service_endpoint` overrides the OCI Secrets endpoint (else
    FASTFN_OCI_ENDPOINT, else the SDK's default for the region); `endpoints` overrides any
    scheme's endpoint by scheme name ({"ssm": "http://..."}).
    """

    def __init__(self, *, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic,
                 environ: Mapping[str, str] | None = None,
                 service_endpoint: str | None = None,
                 endpoints: Mapping[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ
        self._endpoints = dict(endpoints or {})
        if service_endpoint:
            self._endpoints["vault"] = service_endpoint
        self._cache = SecretCache(ttl, clock)
        self._backends: dict[str, Backend] = {}
        self._backends_lock = threading.Lock()

    @property
    def ttl(self) -> float:
        return self._cache.ttl

    @property
    def service_endpoint(self) -> str | None:
        return oci_vault.service_endpoint(self._environ, self._endpoints.get("vault"))

    def resolve(self, reference: str, *, name: str | None = None) -> Secret:
        ref = SecretReference.parse(reference, name=name)
        return self._cache.get(str(ref), lambda: self._fetch(ref, name))

    async def aresolve(self, reference: str, *, name: str | None = None) -> Secret:
        cached = self._cache.fresh(str(SecretReference.parse(reference, name=name)))
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.resolve, reference, name=name)

    def resolve_env(self, variable: str) -> Secret:
        """Resolve the reference held by environment variable (function config key)
        `variable`, as fastfn.yaml `secrets:` delivers them."""
        return self.resolve(self._reference_in(variable), name=variable)

    async def aresolve_env(self, variable: str) -> Secret:
        return await self.aresolve(self._reference_in(variable), name=variable)

    def invalidate(self, reference: str | None = None) -> None:
        """Forget one cached value (or all): the next resolve fetches again."""
        self._cache.invalidate(None if reference is None
                               else str(SecretReference.parse(reference)))

    def _reference_in(self, variable: str) -> str:
        reference = self._environ.get(variable)
        if reference is None:
            raise SecretResolutionError(None, f"environment variable {variable} is not set",
                                        name=variable)
        return reference

    def _fetch(self, ref: SecretReference, name: str | None) -> Secret:
        secret = self._backend(ref.scheme).fetch(ref.target, str(ref), name)
        # From the first secret on, log output is masked; until then it costs nothing.
        install_log_redaction()
        return secret

    def _backend(self, scheme: str) -> Backend:
        with self._backends_lock:
            backend = self._backends.get(scheme)
            if backend is None:
                backend = SCHEMES[scheme].backend(self._environ, self._endpoints.get(scheme))
                self._backends[scheme] = backend
            return backend


_default: SecretResolver | None = None
_default_lock = threading.Lock()


def default_resolver() -> SecretResolver:
    """The resolver shared by this process (TTL from FASTFN_SECRETS_TTL, default 300 s)."""
    global _default
    with _default_lock:
        if _default is None:
            raw = os.environ.get(TTL_ENV, "")
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
