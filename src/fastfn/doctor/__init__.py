"""`fastfn doctor`: read-only checks of a deployed function, each a small module.

A check reads gathered facts and returns findings (`findings.py`): check, status
(ok/warn/fail/skip), cause and the exact fix. `oci/` holds the OCI Functions checks;
`iam/` the policy language they evaluate statements with.
"""
