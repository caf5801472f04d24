"""Compute operations -> permissions (Oracle's core services reference). Instance
configurations are compute-management-family; instances, VNIC attachments and VNICs as the
reference lists them (ListVnicAttachments also needs INSTANCE_INSPECT). Denials are 404
NotAuthorizedOrNotFound.
"""

from __future__ import annotations

from fastfn.localcloud.oci.compute.instances import INSTANCE, VNIC
from fastfn.localcloud.oci.compute.models import INSTANCE_CONFIGURATION
from fastfn.localcloud.oci.core.authz import Rule, in_body, in_query, stored

V = "/20160918"
_config = stored(INSTANCE_CONFIGURATION)
_instance = stored(INSTANCE)

CONFIGURATION_RULES: dict[str, Rule] = {
    f"POST {V}/instanceConfigurations": Rule(
        "CreateInstanceConfiguration", "instance-configurations",
        ("INSTANCE_CONFIGURATION_CREATE",), in_body()),
    f"GET {V}/instanceConfigurations": Rule(
        "ListInstanceConfigurations", "instance-configurations",
        ("INSTANCE_CONFIGURATION_INSPECT",), in_query()),
    f"GET {V}/instanceConfigurations/{{id}}": Rule(
        "GetInstanceConfiguration", "instance-configurations",
        ("INSTANCE_CONFIGURATION_READ",), _config),
    f"DELETE {V}/instanceConfigurations/{{id}}": Rule(
        "DeleteInstanceConfiguration", "instance-configurations",
        ("INSTANCE_CONFIGURATION_DELETE",), _config),
}

INSTANCE_RULES: dict[str, Rule] = {
    f"GET {V}/instances": Rule("ListInstances", "instances", ("INSTANCE_READ",), in_query()),
    f"GET {V}/instances/{{id}}": Rule("GetInstance", "instances", ("INSTANCE_READ",),
                                      _instance),
    f"DELETE {V}/instances/{{id}}": Rule("TerminateInstance", "instances",
                                         ("INSTANCE_DELETE",), _instance),
    f"GET {V}/vnicAttachments": Rule("ListVnicAttachments", "vnic-attachments",
                                     ("VNIC_ATTACHMENT_READ", "INSTANCE_INSPECT"),
                                     in_query()),
    f"GET {V}/vnics/{{id}}": Rule("GetVnic", "vnics", ("VNIC_READ",), stored(VNIC)),
}
