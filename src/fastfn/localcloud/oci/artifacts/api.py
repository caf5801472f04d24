"""Container Registry (Artifacts API) routes, read-only over the local image store.

What the doctor reads with the real ArtifactsClient: repositories (declared in the
tenancy file as `container_repositories`, or created in the ROOT compartment by a first
push, as OCIR does), the images in them with their digests and tags, and image
signatures (declared in the tenancy file as `container_image_signatures`, by image ref).
An image ref `host/namespace/repo/path:tag` lives in repository `repo/path`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.errors import missing, not_found
from fastfn.localcloud.oci.core.ids import ocid
from fastfn.localcloud.oci.core.listing import page
from fastfn.localcloud.oci.core.wire import json_response
from fastfn.localcloud.oci.images import IMAGE_DIGEST, IMAGE_TAG, ImageStore
from fastfn.localcloud.oci.tenancy import Tenancy

V = "/20160918/container"


def repository_of(ref: str) -> str:
    """`host/ns/a/b:tag` -> `a/b` (a port's colon is not a tag)."""
    name = ref.split("@", 1)[0]
    parts = name.split("/")
    last = parts[-1].split(":", 1)[0]
    path = [*parts[2:-1], last] if len(parts) > 2 else [last]
    return "/".join(path)


class ArtifactsApi:
    def __init__(self, tenancy: Tenancy, images: ImageStore) -> None:
        self.tenancy = tenancy
        self.images = images
        self.region = tenancy.ctx.identity.region

    def _repositories(self) -> list[dict[str, Any]]:
        declared = {r["displayName"]: r for r in self.tenancy.by_kind["containerRepository"]}
        repos = dict(declared)
        for record in self.images.store.find(IMAGE_DIGEST):
            name = repository_of(record["ref"])
            if name not in repos:  # created by the first push, in the root compartment
                repos[name] = {
                    "id": ocid("containerrepo", self.region, seed=f"repo/{name}"),
                    "displayName": name, "compartmentId": self.tenancy.tenancy["id"],
                    "isPublic": False, "isImmutable": False, "lifecycleState": "AVAILABLE",
                    "timeCreated": record["timeCreated"], "namespace":
                        self.tenancy.ctx.identity.namespace}
        for repo in repos.values():
            images = self._images_in(repo)
            repo.update({"imageCount": len(images), "layerCount": 0, "layersSizeInBytes": 0,
                         "billableSizeInGBs": 0})
        return sorted(repos.values(), key=lambda r: r["displayName"])

    def _images_in(self, repo: dict[str, Any]) -> list[dict[str, Any]]:
        tags: dict[str, list[str]] = {}
        for tag in self.images.store.find(IMAGE_TAG):
            if repository_of(tag["ref"]) == repo["displayName"]:
                version = tag["ref"].rsplit("/", 1)[-1].partition(":")[2]
                if version:
                    tags.setdefault(tag["digest"], []).append(version)
        out = []
        for record in self.images.store.find(IMAGE_DIGEST):
            if repository_of(record["ref"]) != repo["displayName"]:
                continue
            digest = record["digest"]
            versions = sorted(tags.get(digest, []))
            out.append({
                "id": ocid("containerimage", self.region, seed=f"{repo['id']}/{digest}"),
                "compartmentId": repo["compartmentId"], "repositoryId": repo["id"],
                "repositoryName": repo["displayName"], "digest": digest,
                "displayName": f"{repo['displayName']}@{digest}",
                "version": versions[0] if versions else None,
                "versions": [{"version": v, "createdBy": "local", "timeCreated":
                              record["timeCreated"]} for v in versions],
                "lifecycleState": "AVAILABLE", "layers": [], "layersSizeInBytes": 0,
                "manifestSizeInBytes": 0, "pullCount": 0, "createdBy": "local",
                "timeCreated": record["timeCreated"], "freeformTags": {},
                "definedTags": {}, "systemTags": {}})
        return out

    def _all_images(self) -> list[dict[str, Any]]:
        return [i for r in self._repositories() for i in self._images_in(r)]

    @staticmethod
    def _in_scope(doc: dict[str, Any], request: Request, tenancy_id: str) -> bool:
        q = request.query_params
        compartment = q.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        if q.get("compartmentIdInSubtree") == "true" and compartment == tenancy_id:
            return True
        return bool(doc["compartmentId"] == compartment)

    def _collection(self, request: Request, items: list[dict[str, Any]],
                    **extra: Any) -> Response:
        chunk, headers = page(request, items)
        return json_response(request, {"items": chunk, "remainingItemsCount": 0, **extra},
                             headers=headers)

    async def list_repositories(self, request: Request) -> Response:
        q = request.query_params
        root = self.tenancy.tenancy["id"]
        repos = [r for r in self._repositories() if self._in_scope(r, request, root)
                 and q.get("displayName") in (None, r["displayName"])
                 and q.get("repositoryId") in (None, r["id"])]
        return self._collection(request, repos, repositoryCount=len(repos),
                                imageCount=sum(r["imageCount"] for r in repos),
                                layerCount=0, layersSizeInBytes=0)

    async def get_repository(self, request: Request) -> Response:
        for repo in self._repositories():
            if repo["id"] == request.path_params["id"]:
                return json_response(request, repo)
        raise not_found("container repository")

    async def list_images(self, request: Request) -> Response:
        q = request.query_params
        root = self.tenancy.tenancy["id"]
        found = [i for i in self._all_images() if self._in_scope(i, request, root)]
        for param, key in (("repositoryId", "repositoryId"), ("repositoryName",
                           "repositoryName"), ("imageDigest", "digest"), ("imageId", "id"),
                           ("displayName", "displayName")):
            if q.get(param):
                found = [i for i in found if i[key] == q[param]]
        if q.get("version"):
            found = [i for i in found if any(v["version"] == q["version"]
                                             for v in i["versions"])]
        return self._collection(request, found)

    async def get_image(self, request: Request) -> Response:
        for image in self._all_images():
            if image["id"] == request.path_params["id"]:
                return json_response(request, image)
        raise not_found("container image")

    async def list_signatures(self, request: Request) -> Response:
        q = request.query_params
        root = self.tenancy.tenancy["id"]
        images = {(i["repositoryName"], i["digest"]): i for i in self._all_images()}
        found = []
        for j, spec in enumerate(self.tenancy.container_image_signatures):
            ref = str(spec.get("image", ""))
            tag = self.images.resolve(ref)
            image = images.get((repository_of(ref), tag.digest)) if tag else None
            if image is None:
                continue
            doc = {"id": ocid("containerimagesignature", self.region, seed=f"sig/{j}/{ref}"),
                   "compartmentId": image["compartmentId"], "imageId": image["id"],
                   "displayName": f"{image['displayName']}-sig{j}",
                   "kmsKeyId": spec.get("kms_key_id"),
                   "kmsKeyVersionId": spec.get("kms_key_version_id"),
                   "signingAlgorithm": spec.get("signing_algorithm",
                                                "SHA_256_RSA_PKCS_PSS"),
                   "lifecycleState": "AVAILABLE", "timeCreated": image["timeCreated"],
                   "freeformTags": {}, "definedTags": {}, "systemTags": {}}
            if not self._in_scope(doc, request, root):
                continue
            if all(q.get(p) in (None, doc[k]) for p, k in (
                    ("imageId", "imageId"), ("kmsKeyId", "kmsKeyId"),
                    ("kmsKeyVersionId", "kmsKeyVersionId"),
                    ("signingAlgorithm", "signingAlgorithm"))):
                found.append(doc)
        return self._collection(request, found)

    def routes(self) -> list[Route]:
        return [
            Route(V + "/repositories", self.list_repositories, methods=["GET"]),
            Route(V + "/repositories/{id}", self.get_repository, methods=["GET"]),
            Route(V + "/images", self.list_images, methods=["GET"]),
            Route(V + "/images/{id}", self.get_image, methods=["GET"]),
            Route(V + "/imageSignatures", self.list_signatures, methods=["GET"]),
        ]
