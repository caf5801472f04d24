"""Verbs -> permissions per resource type, families, and API operation -> permissions.

From /work/shared/facts/OCI_IAM_FUNCTIONS_POOLS.md §1 (Oracle's per-service policy
references). Entries the facts mark unverified carry `verified=False`.
"""

from __future__ import annotations

from dataclasses import dataclass

VERB_ORDER = ("inspect", "read", "use", "manage")


def _cumulative(inspect: tuple[str, ...], read: tuple[str, ...] = (),
                use: tuple[str, ...] = (),
                manage: tuple[str, ...] = ()) -> dict[str, frozenset[str]]:
    # each verb includes the permissions of the verbs below it
    out: dict[str, frozenset[str]] = {}
    acc: set[str] = set()
    for verb, perms in zip(VERB_ORDER, (inspect, read, use, manage), strict=True):
        acc |= set(perms)
        out[verb] = frozenset(acc)
    return out


PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    "objectstorage-namespaces": _cumulative((), (), (), ("NAMESPACE_READ", "NAMESPACE_UPDATE")),
    "buckets": _cumulative(("BUCKET_INSPECT",), ("BUCKET_READ",), ("BUCKET_UPDATE",),
                           ("BUCKET_CREATE", "BUCKET_DELETE", "PAR_MANAGE")),
    "objects": _cumulative(("OBJECT_INSPECT",), ("OBJECT_READ",), ("OBJECT_OVERWRITE",),
                           ("OBJECT_CREATE", "OBJECT_DELETE", "OBJECT_VERSION_DELETE",
                            "OBJECT_RESTORE", "OBJECT_UPDATE_TIER")),
    "vaults": _cumulative(("VAULT_INSPECT",), ("VAULT_READ",),
                          ("VAULT_CREATE_KEY", "VAULT_IMPORT_KEY", "VAULT_CREATE_SECRET"),
                          ("VAULT_CREATE", "VAULT_DELETE", "VAULT_UPDATE")),
    "keys": _cumulative(("KEY_INSPECT",), ("KEY_READ",),
                        ("KEY_ENCRYPT", "KEY_DECRYPT", "KEY_EXPORT", "KEY_SIGN", "KEY_VERIFY"),
                        ("KEY_CREATE", "KEY_ROTATE", "KEY_DELETE")),
    "secrets": _cumulative(("SECRET_INSPECT",), ("SECRET_READ",), ("SECRET_UPDATE",),
                           ("SECRET_CREATE", "SECRET_DELETE", "SECRET_MOVE")),
    "secret-bundles": _cumulative(("SECRET_BUNDLE_INSPECT",), ("SECRET_BUNDLE_READ",)),
    "fn-app": _cumulative(("FN_APP_LIST",), ("FN_APP_READ",), (),
                          ("FN_APP_CREATE", "FN_APP_DELETE", "FN_APP_UPDATE")),
    "fn-function": _cumulative(("FN_FUNCTION_LIST",), ("FN_FUNCTION_READ",), (),
                               ("FN_FUNCTION_CREATE", "FN_FUNCTION_DELETE",
                                "FN_FUNCTION_UPDATE")),
    "fn-invocation": _cumulative((), (), ("FN_INVOCATION",), ()),
    "repos": _cumulative(("REPOSITORY_INSPECT",), ("REPOSITORY_READ",), (),
                         ("REPOSITORY_CREATE", "REPOSITORY_DELETE", "REPOSITORY_UPDATE",
                          "REPOSITORY_MANAGE")),
    "vcns": _cumulative(("VCN_READ",), (), (), ("VCN_CREATE", "VCN_DELETE", "VCN_UPDATE")),
    "subnets": _cumulative(("SUBNET_READ",), (), ("SUBNET_ATTACH", "SUBNET_DETACH"),
                           ("SUBNET_CREATE", "SUBNET_DELETE", "SUBNET_UPDATE")),
    "route-tables": _cumulative(("ROUTE_TABLE_READ",), (), (), ("ROUTE_TABLE_UPDATE",)),
    "security-lists": _cumulative(("SECURITY_LIST_READ",), (), (), ("SECURITY_LIST_UPDATE",)),
    "service-gateways": _cumulative(("SERVICE_GATEWAY_READ",), (),
                                    ("SERVICE_GATEWAY_ATTACH", "SERVICE_GATEWAY_DETACH"), ()),
    "internet-gateways": _cumulative(("INTERNET_GATEWAY_READ",), (), (), ()),
    "nat-gateways": _cumulative((), ("NAT_GATEWAY_READ",),
                                ("NAT_GATEWAY_ATTACH", "NAT_GATEWAY_DETACH"), ()),
    "network-security-groups": _cumulative((), ("NETWORK_SECURITY_GROUP_READ",),
                                           ("NETWORK_SECURITY_GROUP_LIST_SECURITY_RULES",), ()),
    "vnics": _cumulative(("VNIC_READ",), (), ("VNIC_ATTACH",), ("VNIC_CREATE",)),
    "vnic-attachments": _cumulative(("VNIC_ATTACHMENT_READ",)),
    "private-ips": _cumulative(("PRIVATE_IP_READ",)),
    "instances": _cumulative(("INSTANCE_INSPECT",), ("INSTANCE_READ",),
                             ("INSTANCE_UPDATE", "INSTANCE_POWER_ACTIONS"),
                             ("INSTANCE_CREATE", "INSTANCE_DELETE")),
    "instance-images": _cumulative(("INSTANCE_IMAGE_INSPECT",), ("INSTANCE_IMAGE_READ",)),
    "instance-configurations": _cumulative(("INSTANCE_CONFIGURATION_INSPECT",),
                                           ("INSTANCE_CONFIGURATION_READ",), (),
                                           ("INSTANCE_CONFIGURATION_CREATE",
                                            "INSTANCE_CONFIGURATION_UPDATE",
                                            "INSTANCE_CONFIGURATION_LAUNCH",
                                            "INSTANCE_CONFIGURATION_DELETE")),
    "instance-pools": _cumulative(("INSTANCE_POOL_INSPECT",), ("INSTANCE_POOL_READ",),
                                  ("INSTANCE_POOL_POWER_ACTIONS",),
                                  ("INSTANCE_POOL_CREATE", "INSTANCE_POOL_UPDATE",
                                   "INSTANCE_POOL_INSTANCE_ATTACH",
                                   "INSTANCE_POOL_INSTANCE_DETACH", "INSTANCE_POOL_DELETE")),
    "load-balancers": _cumulative(("LOAD_BALANCER_INSPECT",), ("LOAD_BALANCER_READ",),
                                  ("LOAD_BALANCER_UPDATE",),
                                  ("LOAD_BALANCER_CREATE", "LOAD_BALANCER_DELETE")),
    "log-groups": _cumulative(("LOG_GROUP_INSPECT",), ("LOG_GROUP_READ",),
                              ("LOG_GROUP_UPDATE",), ("LOG_GROUP_CREATE", "LOG_GROUP_DELETE")),
    "log-content": _cumulative((), ("LOG_CONTENT_READ",)),
    "compartments": _cumulative(("COMPARTMENT_INSPECT",), ("COMPARTMENT_READ",)),
    # Identity (Oracle's IAM reference; dynamic-groups by analogy with groups: unverified)
    "tenancies": _cumulative(("TENANCY_INSPECT",)),
    "users": _cumulative(("USER_INSPECT",), ("USER_READ",), ("USER_UPDATE",),
                         ("USER_CREATE", "USER_DELETE")),
    "groups": _cumulative(("GROUP_INSPECT",), (), ("GROUP_UPDATE",),
                          ("GROUP_CREATE", "GROUP_DELETE")),
    "dynamic-groups": _cumulative(("DYNAMIC_GROUP_INSPECT",), (), ("DYNAMIC_GROUP_UPDATE",),
                                  ("DYNAMIC_GROUP_CREATE", "DYNAMIC_GROUP_DELETE")),
    "policies": _cumulative(("POLICY_READ",), (), (),
                            ("POLICY_UPDATE", "POLICY_CREATE", "POLICY_DELETE")),
    # Events (Details for the Events Service)
    "cloudevents-rules": _cumulative(("EVENTRULE_LIST",), ("EVENTRULE_READ",), (),
                                     ("EVENTRULE_CREATE", "EVENTRULE_DELETE",
                                      "EVENTRULE_MODIFY")),
}

FAMILIES: dict[str, tuple[str, ...]] = {
    "object-family": ("objectstorage-namespaces", "buckets", "objects"),
    "secret-family": ("vaults", "keys", "secrets", "secret-bundles"),
    "functions-family": ("fn-app", "fn-function", "fn-invocation"),
    "virtual-network-family": ("vcns", "subnets", "route-tables", "security-lists",
                               "service-gateways", "internet-gateways", "nat-gateways",
                               "network-security-groups", "vnics", "vnic-attachments",
                               "private-ips"),
    # instance-configurations/pools are compute-management-family, not instance-family
    "instance-family": ("instances", "instance-images", "vnic-attachments", "vnics"),
    "compute-management-family": ("instance-configurations", "instance-pools"),
}

ALL_RESOURCES = "all-resources"


def resource_types(name: str) -> tuple[str, ...]:
    """The individual types a family (or all-resources, or one type) stands for."""
    if name == ALL_RESOURCES:
        return tuple(PERMISSIONS)
    return FAMILIES.get(name, (name,))


def granted(verb: str, resource_type: str) -> frozenset[str]:
    """Every permission `verb resource_type` grants (a family: the union of its types)."""
    out: set[str] = set()
    for t in resource_types(resource_type):
        out |= PERMISSIONS.get(t, {}).get(verb, frozenset())
    return frozenset(out)


def least_verb(resource_type: str, permissions: frozenset[str]) -> str | None:
    """The smallest verb on one type that grants all of `permissions`, or None."""
    table = PERMISSIONS.get(resource_type, {})
    for verb in VERB_ORDER:
        if permissions <= table.get(verb, frozenset()):
            return verb
    return None


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    resource_type: str
    permissions: tuple[str, ...]  # all needed
    verified: bool = True


def _op(name: str, rtype: str, *perms: str, verified: bool = True) -> Operation:
    return Operation(name, rtype, perms, verified)


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    _op("GetNamespace", "objectstorage-namespaces"),  # no permission unless compartmentId
    _op("GetNamespaceMetadata", "objectstorage-namespaces", "NAMESPACE_READ"),
    _op("HeadBucket", "buckets", "BUCKET_INSPECT"),
    _op("ListBuckets", "buckets", "BUCKET_INSPECT"),
    _op("GetBucket", "buckets", "BUCKET_READ"),
    _op("CreateBucket", "buckets", "BUCKET_CREATE"),
    _op("UpdateBucket", "buckets", "BUCKET_UPDATE"),
    _op("DeleteBucket", "buckets", "BUCKET_DELETE"),
    _op("HeadObject", "objects", "OBJECT_INSPECT"),
    _op("ListObjects", "objects", "OBJECT_INSPECT"),
    _op("GetObject", "objects", "OBJECT_READ"),
    _op("PutObject.create", "objects", "OBJECT_CREATE"),  # a new name
    _op("PutObject.overwrite", "objects", "OBJECT_OVERWRITE"),  # an existing name
    _op("DeleteObject", "objects", "OBJECT_DELETE"),
    _op("RenameObject", "objects", "OBJECT_CREATE", "OBJECT_OVERWRITE"),
    _op("GetSecretBundle", "secret-bundles", "SECRET_BUNDLE_READ"),
    _op("GetSecretBundleByName", "secret-bundles", "SECRET_BUNDLE_READ"),
    _op("ListSecrets", "secrets", "SECRET_INSPECT"),
    _op("GetSecret", "secrets", "SECRET_READ"),
    _op("CreateSecret", "secrets", "SECRET_CREATE", "KEY_ENCRYPT", "KEY_DECRYPT",
        "VAULT_CREATE_SECRET"),
    _op("InvokeFunction", "fn-invocation", "FN_INVOCATION"),
    _op("ListApplications", "fn-app", "FN_APP_LIST"),
    _op("GetApplication", "fn-app", "FN_APP_READ"),
    _op("CreateApplication", "fn-app", "FN_APP_CREATE"),
    _op("UpdateApplication", "fn-app", "FN_APP_UPDATE"),
    _op("ListFunctions", "fn-function", "FN_FUNCTION_LIST"),
    _op("GetFunction", "fn-function", "FN_FUNCTION_READ"),
    _op("CreateFunction", "fn-function", "FN_FUNCTION_CREATE"),
    _op("UpdateFunction", "fn-function", "FN_FUNCTION_UPDATE"),
    _op("PullImage", "repos", "REPOSITORY_READ"),
    _op("PushImage", "repos", "REPOSITORY_READ", "REPOSITORY_UPDATE"),
    _op("ListContainerImages", "repos", "REPOSITORY_INSPECT"),
    _op("ListContainerRepositories", "repos", "REPOSITORY_INSPECT"),
    _op("CreateContainerRepository", "repos", "REPOSITORY_CREATE"),
    _op("GetVcn", "vcns", "VCN_READ"),
    _op("GetSubnet", "subnets", "SUBNET_READ"),
    _op("ListSubnets", "subnets", "SUBNET_READ"),
    _op("GetRouteTable", "route-tables", "ROUTE_TABLE_READ"),
    _op("GetSecurityList", "security-lists", "SECURITY_LIST_READ"),
    _op("GetServiceGateway", "service-gateways", "SERVICE_GATEWAY_READ"),
    _op("GetVnic", "vnics", "VNIC_READ"),
    _op("ListVnicAttachments", "vnic-attachments", "VNIC_ATTACHMENT_READ", "INSTANCE_INSPECT"),
    _op("GetInstance", "instances", "INSTANCE_READ"),
    _op("ListInstances", "instances", "INSTANCE_READ"),
    _op("GetInstanceConfiguration", "instance-configurations", "INSTANCE_CONFIGURATION_READ"),
    _op("CreateInstanceConfiguration", "instance-configurations",
        "INSTANCE_CONFIGURATION_CREATE"),
    _op("ListInstancePools", "instance-pools", "INSTANCE_POOL_INSPECT"),
    _op("GetInstancePool", "instance-pools", "INSTANCE_POOL_READ"),
    _op("ListInstancePoolInstances", "instance-pools", "INSTANCE_POOL_READ"),
    _op("UpdateInstancePool", "instance-pools", "INSTANCE_POOL_UPDATE"),
    _op("AttachLoadBalancer", "instance-pools", "INSTANCE_POOL_UPDATE", verified=False),
    _op("GetLoadBalancer", "load-balancers", "LOAD_BALANCER_READ"),
    _op("UpdateBackendSet", "load-balancers", "LOAD_BALANCER_UPDATE"),
    _op("GetBackendSetHealth", "load-balancers", "LOAD_BALANCER_READ", verified=False),
)}
