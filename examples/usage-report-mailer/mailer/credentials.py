"""Phase 4: the SMTP user name and password from Vault.

Resolved through the fastfn runtime's secrets module: cached per function instance (TTL
300 s, the last good value kept if Vault is briefly unreachable), and once resolved the
values are masked in every log line. After the SMTP server refuses them, `forget()` drops
them so that a rotated secret is picked up on the next call.
"""

from __future__ import annotations

import re

from fastfn.runtime.secrets import Secret, SecretResolutionError, aresolve, default_resolver
from mailer.errors import VaultError

# Reasons that can go away on their own (see SecretResolver._fetch_vault's messages).
_TRANSIENT = re.compile(r"cannot reach|HTTP 5\d\d|HTTP 429|HTTP 409")


async def smtp_credentials(username_ref: str, password_ref: str) -> tuple[Secret, Secret]:
    try:
        username = await aresolve(username_ref, name="SMTP_USERNAME_SECRET_OCID")
        password = await aresolve(password_ref, name="SMTP_PASSWORD_SECRET_OCID")
    except SecretResolutionError as exc:
        # The error names the reference and the reason, never a value.
        raise VaultError(str(exc), retryable=bool(_TRANSIENT.search(exc.reason))) from None
    return username, password


def forget(*references: str) -> None:
    resolver = default_resolver()
    for reference in references:
        resolver.invalidate(reference)
