"""Tenancy files for policy tests: a user `dev` (with an API key) in group `devs`, the
policy statements a test grants, and a local cloud started on that tenancy with the SDK
config to call it as `dev`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import oci

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.auth import fingerprint, generate_key, private_pem, public_pem


def devs_tenancy_yaml(public_key: str, statements: Sequence[str], *,
                      tenancy_name: str | None = None, compartment: str = "local") -> str:
    """The tenancy text: `dev` holding `public_key` (PEM), in `devs`, and one policy `devs`
    in `compartment` with `statements`."""
    head = f"tenancy: {{name: {tenancy_name}}}\n" if tenancy_name else ""
    lines = "".join(f"      - {statement}\n" for statement in statements)
    return f"""{head}users:
  - {{name: dev, api_keys: [{json.dumps(public_key)}]}}
groups:
  - {{name: devs, members: [dev]}}
policies:
  - name: devs
    compartment: {compartment}
    statements:
{lines}"""


@contextmanager
def cloud_with_dev(root: Path, statements: Sequence[str], *,
                   tenancy_name: str | None = None) -> Iterator[tuple[LocalCloud, dict[str, Any]]]:
    """A local cloud on the `devs` tenancy under `root`, and the oci config of `dev`."""
    key = generate_key()
    (root / "dev.pem").write_bytes(private_pem(key))
    (root / "tenancy.yaml").write_text(devs_tenancy_yaml(
        public_pem(key.public_key()).decode(), statements, tenancy_name=tenancy_name))
    with LocalCloud(root / "state", tenancy_file=root / "tenancy.yaml") as cloud:
        users = cloud.client(oci.identity.IdentityClient).list_users(cloud.tenancy_id).data
        config = {**cloud.config, "user": next(u.id for u in users if u.name == "dev"),
                  "key_file": str(root / "dev.pem"),
                  "fingerprint": fingerprint(key.public_key())}
        yield cloud, config
