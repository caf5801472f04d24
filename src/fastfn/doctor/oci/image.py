"""The image the function pulls: present at its recorded digest, in the function's
region, in a repository of the function's compartment."""

from __future__ import annotations

from fastfn.doctor.findings import Finding, fail, ok, skip, warn
from fastfn.doctor.oci.facts import Facts

PRESENT, REGION, REPO = "image.present", "image.region", "image.repository"


def _registry_region(host: str) -> str | None:
    import oci.regions

    host = host.lower()
    if host.endswith(".ocir.io"):
        key = host.removesuffix(".ocir.io")
        return oci.regions.REGIONS_SHORT_NAMES.get(key) or (
            key if key in oci.regions.REGIONS else None)
    if host.startswith("ocir.") and ".oci." in host:
        return host.split(".")[1]
    return None


def check(facts: Facts) -> list[Finding]:
    ref = facts.image
    if ref is None:
        return [skip(PRESENT, "the function could not be read")]
    fn = facts.function
    out: list[Finding] = []
    region = _registry_region(ref.host)
    if region is None:
        out.append(skip(REGION, f"registry host {ref.host!r} is not an OCIR region host"))
    elif region != facts.region:
        out.append(fail(REGION, f"the image is in {region}'s registry ({ref.host}) but the "
                                f"function runs in {facts.region}: Functions pulls only from "
                                "the registry of its own region",
                        f"push the image to the {facts.region} registry and run: oci fn "
                        f"function update --function-id {facts.function_id} --image "
                        f"<{facts.region} host>/{ref.namespace}/{ref.repository}:{ref.tag}"))
    else:
        out.append(ok(REGION, f"registry {ref.host} is in the function's region {region}"))

    if "container repositories" in facts.errors:
        return [*out, skip(PRESENT, "cannot list repositories: "
                           f"{facts.errors['container repositories']}")]
    repo = facts.repository
    if repo is None:
        return [*out, fail(PRESENT, f"repository {ref.repository!r} does not exist (or you "
                                    "may not read it): Functions cannot pull the image "
                                    "(FunctionInvokeImageNotAvailable; seed 000's "
                                    "'Invalid Image ... does not exist')",
                           f"push {facts.image_text} again, then: oci fn function update "
                           f"--function-id {facts.function_id} --image {facts.image_text}")]
    digest = facts.image_digest
    image = next((i for i in facts.images if i.digest == digest), None)
    if image is None:
        tagged = facts.tagged[0] if facts.tagged else None
        if tagged is not None:
            fix = (f"oci fn function update --function-id {facts.function_id} --image "
                   f"{facts.image_text} --image-digest {tagged.digest} (the digest the tag points "
                   "at now; Functions keeps pulling the digest recorded at create/update)")
        else:
            fix = (f"push {facts.image_text} again, then: oci fn function update --function-id "
                   f"{facts.function_id} --image {facts.image_text}")
        out.append(fail(PRESENT, f"digest {digest} recorded for the function is not in "
                                 f"repository {repo.display_name} (image deleted, or the tag "
                                 "re-pushed): FunctionInvokeImageNotAvailable", fix))
    else:
        out.append(ok(PRESENT, f"{repo.display_name}@{digest} is in the registry"))

    if repo.compartment_id != fn.compartment_id:
        here = facts.compartment_path(repo.compartment_id) or "the root compartment"
        there = facts.compartment_path(fn.compartment_id) or "the root compartment"
        root = " (created there by a first push, which needs tenancy-wide 'manage repos')" \
            if repo.compartment_id == facts.tenancy_id else ""
        out.append(warn(REPO, f"repository {repo.display_name} is in {here}{root}, not in "
                              f"the function's compartment {there}",
                        f"oci artifacts container repository create --display-name "
                        f"{repo.display_name} --compartment-id {fn.compartment_id} (names "
                        "are unique tenancy-wide: delete the old one first, or pick a new "
                        "name), push there, then grant "
                        f"only: Allow group <deployers> to manage repos in compartment "
                        f"{there} (and drop 'manage repos in tenancy')"))
    else:
        out.append(ok(REPO, f"repository {repo.display_name} is in the function's "
                            "compartment"))
    return out
