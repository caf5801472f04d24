"""The application's path to the registry: a route (service gateway for ALL services from
a private subnet, internet gateway from a public one) and egress allowed by its security
lists or NSGs (OCI allows a packet when any of them does)."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastfn.doctor.findings import Finding, fail, ok, skip, warn
from fastfn.doctor.oci.facts import Facts

ROUTE, EGRESS = "network.route", "network.egress"


def _all_services(facts: Facts) -> Any:
    return next((s for s in facts.services if s.cidr_block.startswith("all-")), None)


def check(facts: Facts) -> list[Finding]:
    if not facts.subnets:
        return [skip(ROUTE, "the application's subnets could not be read: " + "; ".join(
            v for k, v in facts.errors.items() if k.startswith(("subnet", "application"))))]
    out: list[Finding] = []
    for subnet in facts.subnets:
        out.append(_route(facts, subnet))
        out.append(_egress(facts, subnet))
    return out


def _route(facts: Facts, subnet: Any) -> Finding:
    name = subnet.display_name
    allsvc = _all_services(facts)
    all_cidr = allsvc.cidr_block if allsvc else "all-<region>-services-in-oracle-services-network"
    rt = facts.route_tables.get(subnet.route_table_id or "")
    rules = rt.route_rules if rt is not None else []
    rt_id = subnet.route_table_id or "<route table ocid>"
    if not subnet.prohibit_public_ip_on_vnic:
        for rule in rules:
            gw = facts.gateways.get(rule.network_entity_id or "")
            if rule.destination == "0.0.0.0/0" and gw is not None and \
                    ".internetgateway." in gw.id and gw.is_enabled:
                return ok(ROUTE, f"public subnet {name}: 0.0.0.0/0 -> internet gateway "
                                 f"{gw.display_name}")
        return fail(ROUTE, f"public subnet {name} has no 0.0.0.0/0 route to an enabled "
                           "internet gateway: the image cannot be pulled",
                    f"oci network route-table update --rt-id {rt_id} --route-rules "
                    "'[...existing rules, {\"destination\": \"0.0.0.0/0\", "
                    "\"destinationType\": \"CIDR_BLOCK\", \"networkEntityId\": \"<igw "
                    "ocid>\"}]'")
    nat = None
    for rule in rules:
        gw = facts.gateways.get(rule.network_entity_id or "")
        if gw is None:
            continue
        if ".servicegateway." in gw.id:
            served = [s.service_name for s in gw.services or []]
            serves_all = any(n.lower().startswith("all ") for n in served)
            if rule.destination != all_cidr:
                return fail(ROUTE, f"private subnet {name}: the service gateway route goes "
                                   f"to {rule.destination}, not {all_cidr}: the registry "
                                   "(OCIR) is only in All Services",
                            f"oci network route-table update --rt-id {rt_id} --route-rules "
                            f"'[{{\"destination\": \"{all_cidr}\", \"destinationType\": "
                            f"\"SERVICE_CIDR_BLOCK\", \"networkEntityId\": \"{gw.id}\"}}]' "
                            "(with the table's other rules)")
            if not serves_all:
                return fail(ROUTE, f"service gateway {gw.display_name} serves only "
                                   f"{', '.join(served) or 'nothing'}, not All Services",
                            f"oci network service-gateway update --service-gateway-id "
                            f"{gw.id} --services '[{{\"serviceId\": \""
                            f"{allsvc.id if allsvc else '<All Services ocid>'}\"}}]'")
            if gw.block_traffic:
                return fail(ROUTE, f"service gateway {gw.display_name} blocks traffic",
                            f"oci network service-gateway update --service-gateway-id "
                            f"{gw.id} --block-traffic false")
            return ok(ROUTE, f"private subnet {name}: {all_cidr} -> service gateway "
                             f"{gw.display_name}")
        if ".natgateway." in gw.id and rule.destination == "0.0.0.0/0":
            nat = gw
    if nat is not None:
        return warn(ROUTE, f"private subnet {name} reaches the registry through NAT gateway "
                           f"{nat.display_name} (over the internet); Oracle documents a "
                           "service gateway for All Services",
                    "oci network service-gateway create --compartment-id <c> --vcn-id "
                    f"{subnet.vcn_id} --services '[{{\"serviceId\": \""
                    f"{allsvc.id if allsvc else '<All Services ocid>'}\"}}]', then route "
                    f"{all_cidr} to it")
    return fail(ROUTE, f"private subnet {name} has no route to a service gateway for All "
                       "Services: the image cannot be pulled (FunctionInvokeImageNotAvailable)",
                "oci network service-gateway create --compartment-id <c> --vcn-id "
                f"{subnet.vcn_id} --services '[{{\"serviceId\": \""
                f"{allsvc.id if allsvc else '<All Services ocid>'}\"}}]'; then oci network "
                f"route-table update --rt-id {rt_id} --route-rules '[{{\"destination\": "
                f"\"{all_cidr}\", \"destinationType\": \"SERVICE_CIDR_BLOCK\", "
                "\"networkEntityId\": \"<sgw ocid>\"}]' (with the table's other rules)")


def _allows_https(rule: Any, all_cidr: str) -> bool:
    proto = str(rule.protocol).lower()
    if proto not in ("all", "6"):
        return False
    if proto == "6" and rule.tcp_options is not None and \
            rule.tcp_options.destination_port_range is not None:
        span = rule.tcp_options.destination_port_range
        if not span.min <= 443 <= span.max:
            return False
    dest = rule.destination or ""
    if (getattr(rule, "destination_type", None) or "CIDR_BLOCK") == "SERVICE_CIDR_BLOCK":
        return bool(dest == all_cidr)
    try:
        return ipaddress.ip_network(dest, strict=False).prefixlen == 0
    except ValueError:
        return False


def _egress(facts: Facts, subnet: Any) -> Finding:
    allsvc = _all_services(facts)
    all_cidr = allsvc.cidr_block if allsvc else "all-<region>-services-in-oracle-services-network"
    allowing: list[str] = []
    stateless: list[str] = []
    for sl_id in subnet.security_list_ids or []:
        sl = facts.security_lists.get(sl_id)
        for rule in (sl.egress_security_rules if sl else None) or []:
            if _allows_https(rule, all_cidr):
                (stateless if rule.is_stateless else allowing).append(
                    f"security list {sl.display_name}")
    for nsg_id, rules in facts.nsg_rules.items():
        for rule in rules:
            if rule.direction == "EGRESS" and _allows_https(rule, all_cidr):
                (stateless if rule.is_stateless else allowing).append(
                    f"NSG {facts.nsgs[nsg_id].display_name}")
    if allowing:
        return ok(EGRESS, f"subnet {subnet.display_name}: egress to the registry allowed by "
                          f"{allowing[0]}")
    sl_id = (subnet.security_list_ids or ["<security list ocid>"])[0]
    fix = (f"oci network security-list update --security-list-id {sl_id} "
           f"--egress-security-rules '[{{\"destination\": \"{all_cidr}\", "
           "\"destinationType\": \"SERVICE_CIDR_BLOCK\", \"protocol\": \"all\", "
           "\"isStateless\": false}]' (with the list's other rules)")
    if stateless:
        return warn(EGRESS, f"subnet {subnet.display_name}: only a stateless rule "
                            f"({stateless[0]}) lets traffic out; replies need a matching "
                            "ingress rule", fix)
    return fail(EGRESS, f"subnet {subnet.display_name}: no security list or NSG allows "
                        f"egress to the registry (All Services or 0.0.0.0/0, TCP 443): the "
                        "pull fails (FunctionInvokeImageNotAvailable) and calls time out "
                        "(504)", fix)
