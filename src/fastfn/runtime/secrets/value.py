"""The resolved value type: shows as Secret('**********'); only reveal() gives the value."""

from __future__ import annotations

import hmac
from typing import NoReturn

from fastfn.runtime.secrets.redaction import MASK, known_values


class Secret:
    """A secret value that shows as Secret('**********') in repr, str, f-strings and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes) -> None:
        self._value = value.encode() if isinstance(value, str) else bytes(value)
        known_values.add(self._value)

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
