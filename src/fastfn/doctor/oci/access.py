"""Can the doctor read the function at all? 401 (authentication) vs 404/403 (policy)."""

from __future__ import annotations

from fastfn.doctor.findings import Finding, fail, ok
from fastfn.doctor.oci.facts import Facts

CHECK = "access.function"


def check(facts: Facts) -> list[Finding]:
    error = facts.errors.get("function")
    if error is None:
        return [ok(CHECK, f"read function {facts.function.display_name} "
                          f"({facts.function_id})")]
    if error.startswith("401"):
        return [fail(CHECK, f"your credentials were not accepted ({error}): the key, "
                            "fingerprint, user or tenancy in the oci config is wrong, "
                            "or the clock is off; this is authentication, not policy",
                     "oci iam user api-key list --user-id <your user ocid> (the config's "
                     "fingerprint must be listed); re-upload with oci iam user api-key "
                     "upload --user-id <ocid> --key-file <public.pem>")]
    if error.startswith(("404", "403")):
        return [fail(CHECK, f"function {facts.function_id} not found or not authorized "
                            f"({error}): a policy decision, not a key problem",
                     "check the OCID; grant the reader: Allow group <your group> to read "
                     "functions-family in compartment <c>")]
    return [fail(CHECK, f"cannot read function {facts.function_id}: {error}")]
