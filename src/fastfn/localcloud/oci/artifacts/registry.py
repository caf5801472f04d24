"""The registry's own read API (Docker Registry HTTP API v2, OCI distribution), for
manifests and image configs: what `docker manifest inspect` reads.

    GET /v2/<namespace>/<repo>/manifests/<tag|digest>   image manifest, or an index
    GET /v2/<namespace>/<repo>/blobs/<digest>           the image config (arch, Cmd)

An image built for one platform answers with an OCI image manifest whose config names
its architecture and command; one built for several with an OCI image index (a
manifest per platform). The local image's digest is its snapshot's, not the sha256 of
this JSON. Requests are OCI-signed like every other local call (OCIR itself wants a
registry token).

Images built and pushed for real (`fastfn build --push`) live in the cloud's registry
(docker-registry): what the image store does not hold is read from there, so the same
route shows both kinds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fastfn.localcloud.oci.images import IMAGE_DIGEST, IMAGE_TAG, ImageStore, host_platform

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"


def _path(ref: str) -> str:
    """`host/ns/repo:tag` -> `ns/repo`."""
    name = ref.split("@", 1)[0]
    parts = name.split("/")
    parts[-1] = parts[-1].split(":", 1)[0]
    return "/".join(parts[1:]) if len(parts) > 1 else parts[0]


def _digest(doc: dict[str, Any]) -> tuple[str, bytes]:
    raw = json.dumps(doc, sort_keys=True).encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest(), raw


def image_documents(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The top manifest (or index) and every document it refers to, by digest."""
    command = record.get("command") or ["fastfn", "serve", record["app"]]
    docs: dict[str, bytes] = {}
    manifests = []
    for platform in record.get("platforms") or [host_platform()]:
        os_name, _, arch = platform.partition("/")
        config = {"architecture": arch, "os": os_name,
                  "config": {"Cmd": command, "Entrypoint": None},
                  "rootfs": {"type": "layers", "diff_ids": []}}
        config_digest, config_raw = _digest(config)
        docs[config_digest] = config_raw
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST,
                    "config": {"mediaType": CONFIG, "digest": config_digest,
                               "size": len(config_raw)}, "layers": []}
        digest, raw = _digest(manifest)
        docs[digest] = raw
        manifests.append({"mediaType": MANIFEST, "digest": digest, "size": len(raw),
                          "platform": {"architecture": arch, "os": os_name}})
    if len(manifests) == 1:
        return json.loads(docs[manifests[0]["digest"]]), docs
    return {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}, docs


def _unknown(code: str, message: str) -> Response:
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=404)


def _upstream(address: str, path: str, accept: str) -> Response | None:
    request = urllib.request.Request(f"http://{address}/v2/{path}",
                                     headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            headers = {"Docker-Content-Digest": answer.headers.get("Docker-Content-Digest",
                                                                   "")}
            return Response(answer.read(), media_type=answer.headers.get("Content-Type"),
                            headers=headers)
    except (urllib.error.URLError, OSError):
        return None


class RegistryApi:
    def __init__(self, images: ImageStore,
                 registry: Callable[[], str | None] | None = None) -> None:
        self.images = images
        self.registry = registry  # the address of the real registry, when one runs

    async def _from_registry(self, request: Request, path: str) -> Response | None:
        address = self.registry() if self.registry is not None else None
        if not address:
            return None
        accept = request.headers.get("accept", f"{INDEX}, {MANIFEST}")
        return await asyncio.to_thread(_upstream, address, path, accept)

    def _records(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.images.store.find(IMAGE_DIGEST) if _path(r["ref"]) == name]

    def _record(self, name: str, reference: str) -> dict[str, Any] | None:
        records = self._records(name)
        if reference.startswith("sha256:"):
            return next((r for r in records if r["digest"] == reference), None)
        for tag in self.images.store.find(IMAGE_TAG):
            if _path(tag["ref"]) == name and tag["ref"].rsplit(":", 1)[-1] == reference:
                return next((r for r in records if r["digest"] == tag["digest"]), None)
        return None

    async def manifest(self, request: Request) -> Response:
        name, reference = request.path_params["name"], request.path_params["reference"]
        record = self._record(name, reference)
        if record is None:
            # a child manifest of an index, asked for by its own digest
            for candidate in self._records(name):
                _, docs = image_documents(candidate)
                if reference in docs and b'"layers"' in docs[reference]:
                    return Response(docs[reference], media_type=MANIFEST,
                                    headers={"Docker-Content-Digest": reference})
            found = await self._from_registry(request, f"{name}/manifests/{reference}")
            if found is not None:
                return found
            return _unknown("MANIFEST_UNKNOWN", f"manifest unknown: {name}:{reference}")
        top, _ = image_documents(record)
        return Response(json.dumps(top, sort_keys=True), media_type=top["mediaType"],
                        headers={"Docker-Content-Digest": record["digest"]})

    async def blob(self, request: Request) -> Response:
        name, digest = request.path_params["name"], request.path_params["digest"]
        for record in self._records(name):
            _, docs = image_documents(record)
            if digest in docs:
                return Response(docs[digest], media_type=CONFIG,
                                headers={"Docker-Content-Digest": digest})
        found = await self._from_registry(request, f"{name}/blobs/{digest}")
        if found is not None:
            return found
        return _unknown("BLOB_UNKNOWN", f"blob unknown: {digest}")

    def routes(self) -> list[Route]:
        return [Route("/v2/{name:path}/manifests/{reference}", self.manifest,
                      methods=["GET", "HEAD"]),
                Route("/v2/{name:path}/blobs/{digest}", self.blob, methods=["GET"])]
