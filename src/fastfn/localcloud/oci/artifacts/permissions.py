"""Container Registry (Artifacts API) reads -> permissions (Oracle's Artifacts policy
reference: `inspect repos` lists repositories and images, `read repos` gets them and their
signatures). Denials are 404 NotAuthorizedOrNotFound. The registry's own `/v2/` pull
path is authorized by the Functions service's pull check, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_query

V = "/20160918/container"


def _by_id(listing: Callable[[Any], list[dict[str, Any]]]) -> Any:
    async def resolve(service: Any, request: Request) -> Target | None:
        wanted = request.path_params.get("id")
        for doc in listing(service):
            if doc["id"] == wanted:
                return Target(doc["compartmentId"])
        return None  # the handler's 404
    return resolve


RULES: dict[str, Rule] = {
    f"GET {V}/repositories": Rule("ListContainerRepositories", "repos",
                                  ("REPOSITORY_INSPECT",), in_query()),
    f"GET {V}/repositories/{{id}}": Rule(
        "GetContainerRepository", "repos", ("REPOSITORY_READ",),
        _by_id(lambda service: service._repositories())),
    f"GET {V}/images": Rule("ListContainerImages", "repos", ("REPOSITORY_INSPECT",),
                            in_query()),
    f"GET {V}/images/{{id}}": Rule("GetContainerImage", "repos", ("REPOSITORY_READ",),
                                   _by_id(lambda service: service._all_images())),
    f"GET {V}/imageSignatures": Rule("ListContainerImageSignatures", "repos",
                                     ("REPOSITORY_READ",), in_query()),
}


async def _pulled_repository(service: Any, request: Request) -> Target | None:
    # /v2/<namespace>/<repository path>/...: the repository's compartment (root when a
    # first push created it), as OCIR checks a pull.
    name = str(request.path_params.get("name", ""))
    repository = name.split("/", 1)[1] if "/" in name else name
    return Target(service.tenancy.repository_compartment(repository))


# The registry protocol's reads (`docker pull`, manifest and config reads), checked on the
# Artifacts service object, which knows the tenancy.
REGISTRY_RULES: dict[str, Rule] = {
    "GET /v2/{name:path}/manifests/{reference}": Rule(
        "PullImage", "repos", ("REPOSITORY_READ",), _pulled_repository),
    "GET /v2/{name:path}/blobs/{digest}": Rule(
        "PullImage", "repos", ("REPOSITORY_READ",), _pulled_repository),
}
