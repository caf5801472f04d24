"""Which VNIC of an instance is its load balancer backend (seed 002's `VNIC_SUBNET_ID`).

With a subnet given, the instance's VNIC in that subnet, and an error when it has none;
otherwise its primary VNIC. Read-only calls through the Compute and Virtual Network
clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastfn.deploy.errors import TargetError


@dataclass(frozen=True)
class SelectedVnic:
    instance_id: str
    vnic_id: str
    subnet_id: str
    private_ip: str

    def backend(self, port: int) -> str:
        return f"{self.private_ip}:{port}"

    def describe(self, name: str) -> str:
        return (f"instance {name}: vnic {self.vnic_id} subnet {self.subnet_id} "
                f"ip {self.private_ip}")


class NoMatchingVnic(TargetError):
    """The instance has no attached VNIC in the wanted subnet."""


def select_vnic(compute: Any, network: Any, compartment_id: str, instance_id: str,
                subnet_id: str | None) -> SelectedVnic | None:
    """The instance's backend VNIC; None while it has no attached VNIC yet."""
    attachments = compute.list_vnic_attachments(compartment_id,
                                                instance_id=instance_id).data
    vnics = [network.get_vnic(a.vnic_id).data for a in attachments
             if a.lifecycle_state == "ATTACHED" and a.vnic_id]
    if not vnics:
        return None
    if subnet_id:
        chosen = [v for v in vnics if v.subnet_id == subnet_id]
        if not chosen:
            raise NoMatchingVnic(
                f"instance {instance_id} has no VNIC in subnet {subnet_id} (VNIC_SUBNET_ID); "
                f"its VNICs are in {', '.join(sorted({v.subnet_id for v in vnics}))}")
    else:
        chosen = [v for v in vnics if v.is_primary] or vnics
    vnic = chosen[0]
    return SelectedVnic(instance_id, vnic.id, vnic.subnet_id, vnic.private_ip)
