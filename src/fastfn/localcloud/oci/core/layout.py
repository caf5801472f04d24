"""Every file and directory name in a local cloud's state dir, in one place.

The cloud process, `fastfn cloud config`, image pushes from the CLI and the deployer all
find things here, so a name changes once.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StateLayout:
    root: Path

    @property
    def identity(self) -> Path:
        """The tenancy's ids (cloud.json): stable across restarts."""
        return self.root / "cloud.json"

    @property
    def instances(self) -> Path:
        """Function instances' socket directories and pid files. Outside the state dir:
        a unix socket path must stay under 107 bytes. Stable for a given state dir, so the
        next start of the same cloud finds and stops instances a killed run left behind."""
        key = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"fastfn-cloud-{key}"

    @property
    def db(self) -> Path:
        """Resource metadata of every service (SQLite)."""
        return self.root / "state.db"

    @property
    def tenancy_file(self) -> Path:
        """Optional declared tenancy (users, compartments, vaults, VCNs)."""
        return self.root / "tenancy.yaml"

    @property
    def objects(self) -> Path:
        """Object Storage object contents."""
        return self.root / "objects"

    @property
    def logs(self) -> Path:
        """Function output, one JSON line per line written (see oci/logs.py)."""
        return self.root / "logs"

    @property
    def images(self) -> Path:
        """Pushed image snapshots."""
        return self.root / "images"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def api_key(self) -> Path:
        """The default user's API signing key (private, PEM)."""
        return self.keys / "api_key.pem"

    @property
    def token_key(self) -> Path:
        """The key that signs resource principal session tokens."""
        return self.keys / "token_signing.pem"

    @property
    def ca_cert(self) -> Path:
        return self.keys / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.keys / "ca_key.pem"

    @property
    def ca_bundle(self) -> Path:
        """Our CA plus the public roots, for REQUESTS_CA_BUNDLE."""
        return self.keys / "ca-bundle.pem"

    @property
    def oci_config(self) -> Path:
        """An oci SDK/CLI config file (profile DEFAULT) for this cloud."""
        return self.root / "oci" / "config"

    @property
    def operations(self) -> Path:
        """Operations recorded for `fastfn iam suggest` (`fastfn cloud up --record`)."""
        return self.root / "iam" / "operations.jsonl"

    @property
    def endpoint_file(self) -> Path:
        """Present while a cloud serves this state dir: its endpoint, proxy and pid."""
        return self.root / "run" / "endpoint.json"

    @property
    def resource_principals(self) -> Path:
        """Per-function session tokens and keys handed to running functions."""
        return self.root / "run" / "rp"
