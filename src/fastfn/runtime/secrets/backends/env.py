"""`env:NAME`: the value of an environment variable (local runs and tests)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastfn.runtime.secrets.backends.base import Scheme
from fastfn.runtime.secrets.errors import SecretResolutionError
from fastfn.runtime.secrets.value import Secret

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _target_error(target: str) -> str | None:
    if _NAME.fullmatch(target):
        return None
    return "an env reference is 'env:NAME' with NAME an environment variable name"


class EnvBackend:
    def __init__(self, environ: Mapping[str, str], endpoint: str | None = None) -> None:
        self._environ = environ

    def fetch(self, target: str, reference: str, name: str | None) -> Secret:
        value = self._environ.get(target)
        if value is None:
            raise SecretResolutionError(reference, f"environment variable {target} is not set",
                                        name=name)
        return Secret(value)


SCHEME = Scheme("env", "env:NAME", _target_error, EnvBackend)
