"""The image's manifest and config from the registry (Docker Registry HTTP API v2):
the platforms it is built for and its command. Read-only.

On OCIR the API wants a registry token: given a login (`<namespace>/<user>` and an auth
token, what `docker login` takes) the standard bearer-token exchange gets one with
pull scope; without a login the manifest is reported unreadable. The local cloud's
registry takes OCI-signed requests instead (`signer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json"))
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryUnreadable(Exception):
    pass


@dataclass(frozen=True)
class ImageConfig:
    platforms: tuple[str, ...]  # "linux/amd64", ...
    command: tuple[str, ...]  # Entrypoint + Cmd of the first platform's image


class RegistryReader:
    def __init__(self, base_url: str | None = None, signer: Any = None,
                 login: tuple[str, str] | None = None, timeout_s: float = 20.0) -> None:
        self.base_url, self.signer, self.login = base_url, signer, login
        self.timeout_s = timeout_s
        self._token: str | None = None

    def _get(self, url: str, scope: str, accept: str) -> Any:
        import requests

        headers = {"Accept": accept}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            resp = requests.get(url, headers=headers, auth=self.signer, timeout=self.timeout_s)
            if resp.status_code == 401 and self.signer is None and self._token is None:
                self._token = self._bearer(resp.headers.get("WWW-Authenticate", ""), scope)
                headers["Authorization"] = f"Bearer {self._token}"
                resp = requests.get(url, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise RegistryUnreadable(f"{type(exc).__name__} reading {url}") from None
        if resp.status_code != 200:
            raise RegistryUnreadable(f"{resp.status_code} from {url}: {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError:
            raise RegistryUnreadable(f"{url} did not answer JSON") from None

    def _bearer(self, challenge: str, scope: str) -> str:
        import requests

        if not challenge.lower().startswith("bearer"):
            raise RegistryUnreadable("the registry asks for a login it does not describe")
        if self.login is None:
            raise RegistryUnreadable("the registry needs a login: --registry-user "
                                     "<namespace>/<user> and FASTFN_OCIR_TOKEN (an auth "
                                     "token)")
        params = dict(_CHALLENGE.findall(challenge))
        try:
            resp = requests.get(params.get("realm", ""), auth=self.login, timeout=self.timeout_s,
                                params={"service": params.get("service", ""), "scope": scope})
        except requests.RequestException as exc:
            raise RegistryUnreadable(f"registry login failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise RegistryUnreadable(f"registry login refused ({resp.status_code})")
        body = resp.json()
        return str(body.get("token") or body.get("access_token") or "")

    def image_config(self, host: str, name: str, reference: str) -> ImageConfig:
        """`name` is `<namespace>/<repository>`, `reference` a digest or a tag."""
        base = self.base_url or f"https://{host}"
        scope = f"repository:{name}:pull"
        top = self._get(f"{base}/v2/{name}/manifests/{reference}", scope, ACCEPT)
        manifest = top
        platforms: list[str] = []
        if "manifests" in top:  # an index / manifest list
            entries = [m for m in top["manifests"]
                       if (m.get("platform") or {}).get("architecture") not in (None,
                                                                                 "unknown")]
            platforms = [f"{m['platform'].get('os', 'linux')}/{m['platform']['architecture']}"
                         for m in entries]
            if not entries:
                return ImageConfig((), ())
            manifest = self._get(f"{base}/v2/{name}/manifests/{entries[0]['digest']}",
                                 scope, ACCEPT)
        config_digest = (manifest.get("config") or {}).get("digest")
        if not config_digest:
            raise RegistryUnreadable("the manifest names no config (not an image manifest)")
        config = self._get(f"{base}/v2/{name}/blobs/{config_digest}", scope,
                           "application/json, */*")
        if not platforms:
            platforms = [f"{config.get('os', 'linux')}/{config.get('architecture', '?')}"]
        inner = config.get("config") or {}
        command = [*(inner.get("Entrypoint") or []), *(inner.get("Cmd") or [])]
        return ImageConfig(tuple(platforms), tuple(str(c) for c in command))


def signed_reader(config: dict[str, Any], endpoint: str) -> RegistryReader:
    """A reader for the local cloud's registry: requests signed with the config's key."""
    import oci

    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"],
                               config.get("key_file"), config.get("pass_phrase"),
                               private_key_content=config.get("key_content"))
    return RegistryReader(base_url=endpoint.rstrip("/"), signer=signer)
