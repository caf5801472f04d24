"""The one error a secret resolution raises: it names the reference, never a value."""

from __future__ import annotations


class SecretResolutionError(RuntimeError):
    """A secret reference is malformed or could not be resolved. Names the reference only."""

    def __init__(self, reference: str | None, reason: str, *, name: str | None = None) -> None:
        self.reference = reference
        self.reason = reason
        self.name = name
        subject = " ".join(part for part in (name, repr(reference) if reference else None)
                           if part)
        super().__init__(f"cannot resolve secret {subject or '(unnamed)'}: {reason}")
