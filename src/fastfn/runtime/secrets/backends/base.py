"""The interface every secrets backend implements, and how it declares its scheme."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from fastfn.runtime.secrets.value import Secret


class Backend(Protocol):
    def fetch(self, target: str, reference: str, name: str | None) -> Secret:
        """The value of `target`; SecretResolutionError naming `reference` if there is none."""
        ...


# environ (the resolver's), endpoint override (None: the SDK's default) -> a backend
BackendFactory = Callable[[Mapping[str, str], str | None], Backend]


@dataclass(frozen=True)
class Scheme:
    name: str  # "vault", before the colon
    form: str  # "vault:<secret OCID>", as error messages show it
    target_error: Callable[[str], str | None]  # why a target is malformed (never echoing it)
    backend: BackendFactory
