"""What the services share: the cloud's identity, its store and its event hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastfn.localcloud.oci.core.files import create_once
from fastfn.localcloud.oci.core.ids import ocid
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.core.store import Store

DEFAULT_REGION = "eu-frankfurt-1"


@dataclass
class CloudIdentity:
    """The ids that make a local cloud one tenancy; stable for a state directory."""

    tenancy_id: str
    tenancy_name: str
    user_id: str
    compartment_id: str  # the default compartment that resources go to
    compartment_name: str
    vault_id: str  # a default vault, so secrets can be created at once
    namespace: str
    region: str

    @classmethod
    def create(cls, region: str = DEFAULT_REGION) -> CloudIdentity:
        return cls(
            tenancy_id=ocid("tenancy", ""),
            tenancy_name="fastfn-local",
            user_id=ocid("user", ""),
            compartment_id=ocid("compartment", ""),
            compartment_name="local",
            vault_id=ocid("vault", region),
            namespace="fastfnlocal",
            region=region,
        )

    @classmethod
    def load_or_create(cls, state_dir: Path, region: str | None = None) -> CloudIdentity:
        path = StateLayout(state_dir).identity
        if path.exists():
            data = json.loads(path.read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        fresh = cls.create(region or DEFAULT_REGION)
        written = create_once(path, (json.dumps(asdict(fresh), indent=2) + "\n").encode(),
                              0o644)
        data = json.loads(written)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


EventSink = Callable[[dict[str, Any]], None]


@dataclass
class CloudContext:
    state_dir: Path
    identity: CloudIdentity
    store: Store
    endpoint: str = ""  # set once the server has its port
    event_sinks: list[EventSink] = field(default_factory=list)
    compartment_names: dict[str, str] = field(default_factory=dict)
    # The HTTPS proxy that stands in for *.oraclecloud.com (see proxy.py) and the CA
    # bundle that makes its certificates trusted.
    proxy_url: str = ""
    ca_bundle: Path | None = None

    @property
    def layout(self) -> StateLayout:
        return StateLayout(self.state_dir)

    @property
    def blobs_dir(self) -> Path:
        return self.layout.objects

    def publish(self, event: dict[str, Any]) -> None:
        for sink in self.event_sinks:
            sink(event)

    def compartment_name(self, compartment_id: str) -> str:
        return self.compartment_names.get(compartment_id, "")

    def compartment_exists(self, compartment_id: str) -> bool:
        return compartment_id in self.compartment_names
