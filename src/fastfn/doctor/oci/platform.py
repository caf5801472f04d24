"""What the platform checks about the image itself: architecture vs the application's
shape (a deploy-time rejection on OCI) and the application's image signing policy."""

from __future__ import annotations

from fastfn.doctor.findings import Finding, fail, ok, skip
from fastfn.doctor.oci.facts import Facts
from fastfn.doctor.oci.policies import allowed_by, policy_set
from fastfn.iam.evaluate import Request, ServicePrincipal

ARCH, SIGNING = "image.architecture", "image.signing"
NEEDS = {"GENERIC_X86": {"amd64"}, "GENERIC_ARM": {"arm64"},
         "GENERIC_X86_ARM": {"amd64", "arm64"}}


def check(facts: Facts) -> list[Finding]:
    app = facts.application
    if app is None:
        return [skip(ARCH, "the application could not be read")]
    return [_architecture(facts), *_signing(facts)]


def _architecture(facts: Facts) -> Finding:
    shape = facts.application.shape or "GENERIC_X86"
    needs = NEEDS.get(shape, set())
    image = facts.image_text
    if facts.platforms is None:
        return skip(ARCH, f"shape {shape} needs an image for {' and '.join(sorted(needs))}; "
                          "the architecture is in the registry's manifest, which the OCI "
                          "SDK does not read",
                    f"docker manifest inspect {image} (look for platform.architecture); "
                    "build with docker buildx build --platform "
                    + ",".join(f"linux/{a}" for a in sorted(needs)))
    have = {p.rsplit("/", 1)[-1] for p in facts.platforms}
    missing = needs - have
    if missing:
        return fail(ARCH, f"the image is built for {', '.join(sorted(have)) or 'nothing'}, "
                          f"the application's shape {shape} needs "
                          f"{', '.join(sorted(needs))} (OCI rejects it at deploy: 'image "
                          "architecture ... is incompatible with the application's shape')",
                    "docker buildx build --platform "
                    + ",".join(f"linux/{a}" for a in sorted(needs)) + " --push ...")
    return ok(ARCH, f"image platforms {', '.join(sorted(have))} fit shape {shape}")


def _signing(facts: Facts) -> list[Finding]:
    policy = facts.application.image_policy_config
    if policy is None or not policy.is_policy_enabled:
        return [ok(SIGNING, "the application does not enforce image signatures")]
    keys = {k.kms_key_id for k in (policy.key_details or [])}
    repo = facts.repository
    if repo is None:
        return [skip(SIGNING, "signatures enforced, but the image's repository is not "
                              "readable (see image.present)")]
    out: list[Finding] = []
    if "image signatures" in facts.errors:
        out.append(skip(SIGNING, f"cannot list signatures: {facts.errors['image signatures']}"))
    else:
        matching = [s for s in facts.signatures if s.kms_key_id in keys]
        if not matching:
            key = sorted(keys)[0] if keys else "<key ocid>"
            out.append(fail(SIGNING, "the application verifies image signatures, and the "
                                     "function's image has none by the application's keys: "
                                     "invoke fails with 502 FunctionImageVerificationFail",
                            "oci artifacts container image-signature sign-upload "
                            f"--compartment-id {repo.compartment_id} --kms-key-id {key} "
                            "--kms-key-version-id <version ocid> --signing-algorithm "
                            "SHA_256_RSA_PKCS_PSS --image-id <image ocid>"))
        else:
            out.append(ok(SIGNING, f"signed by {matching[0].kms_key_id}"))
    evaluated = policy_set(facts)
    request = Request("ListContainerImageSignatures", ("REPOSITORY_INSPECT",),
                      repo.compartment_id)
    if allowed_by(evaluated, ServicePrincipal("faas"), request) is None:
        out.append(fail(SIGNING + "-policy", "Functions (service faas) may not list the "
                                             "image's signatures",
                        "Allow service faas to read repos in "
                        f"{facts.location(repo.compartment_id)} where "
                        "request.operation='ListContainerImageSignatures' (and: Allow "
                        "service faas to {KEY_READ, KEY_VERIFY} in compartment <key's "
                        "compartment>)"))
    return out
