"""A user API key in the function's configuration (seed 000): its format (InvalidPrivateKey),
its fingerprint, whether OCI accepts it (401 vs policy), and the resource principal
that would make it unnecessary. The key itself is never printed."""

from __future__ import annotations

from typing import Any

from fastfn.doctor.findings import Finding, fail, ok, skip, warn
from fastfn.doctor.oci.facts import Facts
from fastfn.doctor.oci.policies import policy_set
from fastfn.iam.evaluate import ResourcePrincipal
from fastfn.runtime.oci_auth import (
    PASSPHRASE_KEYS,
    PRIVATE_KEY_KEYS,
    ApiKeyError,
    api_key_from_env,
)

FORMAT, PROBE, PRINCIPAL = "api-key.format", "api-key.probe", "api-key.resource-principal"


def _key_names(config: dict[str, str]) -> list[str]:
    return [k for k, v in config.items()
            if k in PRIVATE_KEY_KEYS or "PRIVATE KEY-----" in str(v)]


def check(facts: Facts) -> list[Finding]:
    fn = facts.function
    if fn is None:
        return []
    config = {**dict(getattr(facts.application, "config", None) or {}),
              **dict(fn.config or {})}
    names = _key_names(config)
    if not names:
        return [ok(PRINCIPAL, "no API key in the function's configuration")]
    out: list[Finding] = []
    env = dict(config)
    if names[0] not in PRIVATE_KEY_KEYS:
        env[PRIVATE_KEY_KEYS[0]] = config[names[0]]
    try:
        creds = api_key_from_env(env)
    except ApiKeyError as exc:
        out.append(fail(FORMAT, f"{names[0]}: {exc} (InvalidPrivateKey at the first call)",
                        "store the PEM private key (PKCS#1 or PKCS#8) whole, or sign "
                        "with the resource principal instead (below)"))
        creds = None
    else:
        if not creds.info.repairs:
            out.append(ok(FORMAT, f"{names[0]} is a well-formed {creds.info.format} key "
                                  "matching OCI_FINGERPRINT"))
        elif _sdk_reads(config[names[0]], env):
            out.append(ok(FORMAT, f"{names[0]} is a {creds.info.format} key stored with "
                                  f"{', '.join(creds.info.repairs)}; the installed oci SDK "
                                  "reads it as is (older cryptography releases do not)"))
        else:
            out.append(warn(FORMAT, f"{names[0]} is a {creds.info.format} key stored with "
                                    f"{', '.join(creds.info.repairs)}: oci.signer rejects it "
                                    "as is (InvalidPrivateKey)",
                            "sign with fastfn.runtime.oci_auth.api_key_from_env(), which "
                            "repairs it, or store the PEM with its newlines"))
    if creds is not None:
        out.append(_probe(facts, creds))
    out.append(_principal(facts))
    return out


def _sdk_reads(text: str, env: dict[str, str]) -> bool:
    """Whether oci.signer's own loader takes the stored text unrepaired."""
    import oci

    passphrase = next((env[k] for k in PASSPHRASE_KEYS if env.get(k)), None)
    try:
        oci.signer.load_private_key(text, passphrase)
    except (oci.exceptions.InvalidPrivateKey, ValueError, TypeError):
        return False
    return True


def _probe(facts: Facts, creds: Any) -> Finding:
    import oci

    kwargs = facts.clients.kwargs() if facts.clients is not None else {}
    kwargs["signer"] = creds.signer()
    try:
        oci.object_storage.ObjectStorageClient(creds.config(), **kwargs).get_namespace()
    except oci.exceptions.ServiceError as exc:
        if exc.status == 401:
            return fail(PROBE, f"OCI rejects the function's API key (401 {exc.code}): the "
                               f"public key with fingerprint {creds.fingerprint} is not "
                               f"uploaded for user {creds.user}, or the user/tenancy OCID is "
                               "wrong; this is authentication, not policy",
                        f"oci iam user api-key upload --user-id {creds.user} --key-file "
                        "<public.pem>")
        return warn(PROBE, f"probe call answered {exc.status} {exc.code}: the key "
                           "authenticates; a 404/403 on a call is a policy decision",
                    "Allow group <the user's group> to <verb> <resource> in compartment <c>")
    except (oci.exceptions.RequestException, OSError) as exc:
        return skip(PROBE, f"probe call failed: {type(exc).__name__}")
    return ok(PROBE, f"the function's API key authenticates (user {creds.user}); a 403/404 "
                     "later is a policy decision, a 401 a key problem")


def _principal(facts: Facts) -> Finding:
    fn = facts.function
    evaluated = policy_set(facts)
    principal = ResourcePrincipal("fnfunc", fn.id, fn.compartment_id)
    groups = evaluated.policies.dynamic_groups_of(principal)
    where = facts.location(fn.compartment_id)
    if groups:
        return warn(PRINCIPAL, f"the function signs with a user API key held in its "
                               f"configuration, but it is already in dynamic group "
                               f"{groups[0].name}: its resource principal needs no key",
                    "use signer = oci.auth.signers.get_resource_principals_signer(), grant "
                    f"Allow dynamic-group {groups[0].name} to <verb> <resource> in {where}, "
                    "and remove the OCI_* keys from the configuration")
    return warn(PRINCIPAL, "the function signs with a user API key held in its "
                           "configuration; a resource principal needs no key",
                "oci iam dynamic-group create --name <fn-dg> --description <d> "
                "--matching-rule \"ALL {resource.type = 'fnfunc', resource.compartment.id = "
                f"'{fn.compartment_id}'}}\"; Allow dynamic-group <fn-dg> to <verb> "
                f"<resource> in {where}; signer = "
                "oci.auth.signers.get_resource_principals_signer()")
