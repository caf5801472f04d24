"""Secret references, `scheme:target`: the one grammar, for the runtime and the manifest.

The schemes and the syntax of their targets come from the backends registry; this module
splits, checks and explains. No message echoes text that is not a valid reference: what is
there instead may be the secret itself, pasted by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastfn.runtime.secrets.backends import SCHEMES
from fastfn.runtime.secrets.errors import SecretResolutionError


def accepted_forms() -> str:
    """The accepted forms as error messages list them: 'a', 'b' or 'c'."""
    forms = [f"'{scheme.form}'" for scheme in SCHEMES.values()]
    return forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"


NOT_A_REFERENCE = ("not a secret reference (the value is not shown): secrets are given as "
                   "{forms}, never as values")


@dataclass(frozen=True)
class SecretReference:
    scheme: str  # a key of the backends registry: "ssm", "vault", "env"
    target: str  # the parameter name, the secret OCID, the variable name

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"

    @classmethod
    def parse(cls, text: str, *, name: str | None = None) -> SecretReference:
        scheme, sep, target = text.strip().partition(":")
        known = SCHEMES.get(scheme) if sep else None
        if known is None:
            # Not echoed: what is here instead of a reference may be the secret itself.
            raise SecretResolutionError(
                None, NOT_A_REFERENCE.format(forms=accepted_forms()), name=name)
        problem = known.target_error(target)
        if problem is not None:
            raise SecretResolutionError(text, problem, name=name)
        return cls(scheme, target)


def reference_error(text: str) -> str | None:
    """None when `text` is a valid reference of a known scheme, else why not. The message
    never contains `text` and lists the accepted forms."""
    try:
        SecretReference.parse(text)
    except SecretResolutionError as exc:
        if exc.reference is None:
            return exc.reason
        return f"{exc.reason} (accepted: {accepted_forms()})"
    return None


def is_reference(text: str) -> bool:
    return reference_error(text) is None
