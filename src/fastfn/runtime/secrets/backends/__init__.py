"""Where a secret reference's value comes from: one module per scheme, one registry.

A backend module defines a `Scheme` (its name, the form shown in error messages, the check
of its target) and a class that fetches values. Adding a scheme (AWS Secrets Manager:
`backends/aws_secretsmanager.py`) is that one file plus its line in `SCHEMES` below.
Backend modules import their SDK only inside `fetch`: importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastfn.runtime.secrets.backends import aws_ssm, env, oci_vault
from fastfn.runtime.secrets.backends.base import Backend, Scheme

# Order is the order error messages list the accepted forms in.
SCHEMES: Mapping[str, Scheme] = {s.name: s for s in (aws_ssm.SCHEME, oci_vault.SCHEME,
                                                     env.SCHEME)}

__all__ = ["SCHEMES", "Backend", "Scheme"]
