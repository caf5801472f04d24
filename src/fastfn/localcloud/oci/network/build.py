"""Building a tenancy file's VCNs: subnets, gateways, route tables, security lists and
network security groups, referring to each other by name (see tenancy.py for the format)."""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel

# Values that keep their keys as written (tags are user data, not attribute names).
VERBATIM = {"freeform_tags", "defined_tags"}


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel(k): (v if k in VERBATIM else camel(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


class TenancyFileError(ValueError):
    """A tenancy file that cannot be loaded: the entry (e.g. vcns[0].subnets[1]) and why."""


def build_vcn(tenancy: Any, spec: dict[str, Any], where: str,
              services: list[dict[str, Any]]) -> None:
    """One VCN of the tenancy file and everything in it, added to `tenancy.by_kind`."""
    children = ("subnets", "route_tables", "service_gateways", "nat_gateways",
                "internet_gateways", "security_lists", "network_security_groups")
    cidrs = spec.get("cidr_blocks") or ([spec["cidr_block"]] if spec.get("cidr_block")
                                        else [])
    if not cidrs:
        raise TenancyFileError(f"{where}: cidr_blocks is required")
    vcn = tenancy._base("vcn", spec, where, displayName=spec.get("name"),
                     lifecycleState="AVAILABLE", cidrBlock=cidrs[0], cidrBlocks=cidrs,
                     skip=children)
    compartment = spec.get("compartment")
    vcn_name = str(spec["name"])

    def child_docs(key: str, kind: str, state: str = "AVAILABLE",
                   skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        docs = []
        for j, child_spec in enumerate(spec.get(key) or []):
            cwhere = f"{where}.{key}[{j}]"
            doc = tenancy._base(kind, {**child_spec, "id": child_spec.get("id") or tenancy._id(
                kind, {}, vcn_name, str(child_spec.get("name")))}, cwhere,
                compartment=child_spec.get("compartment", compartment),
                displayName=child_spec.get("name"), vcnId=vcn["id"],
                lifecycleState=state, skip=skip)
            doc.pop("name", None)
            docs.append(doc)
        return docs

    def lookup(docs: list[dict[str, Any]], ref: Any, what: str, cwhere: str) -> str:
        for d in docs:
            if ref in (d["displayName"], d["id"]):
                return str(d["id"])
        raise TenancyFileError(f"{cwhere}: unknown {what} {ref!r}")

    gateways = {
        "serviceGateway": child_docs("service_gateways", "serviceGateway"),
        "natGateway": child_docs("nat_gateways", "natGateway"),
        "internetGateway": child_docs("internet_gateways", "internetGateway"),
    }
    for j, sgw in enumerate(gateways["serviceGateway"]):
        wanted = (spec.get("service_gateways") or [])[j].get("services") or []
        sgw["blockTraffic"] = False
        sgw["services"] = []
        for ref in wanted:
            svc = next((s for s in services if ref in (s["cidrBlock"], s["name"], s["id"])),
                       None)
            if svc is None:
                raise TenancyFileError(f"{where}.service_gateways[{j}]: unknown service "
                                       f"{ref!r} (known: "
                                       f"{', '.join(s['cidrBlock'] for s in services)})")
            sgw["services"].append({"serviceId": svc["id"], "serviceName": svc["name"]})
    for nat in gateways["natGateway"]:
        nat.setdefault("blockTraffic", False)
        nat.setdefault("natIp", "203.0.113.10")
    for igw in gateways["internetGateway"]:
        igw.setdefault("isEnabled", True)
    all_gateways = [g for docs in gateways.values() for g in docs]

    route_tables = child_docs("route_tables", "routeTable")
    for j, rt in enumerate(route_tables):
        rules = []
        for k, rule in enumerate((spec.get("route_tables") or [])[j].get("route_rules")
                                 or []):
            rwhere = f"{where}.route_tables[{j}].route_rules[{k}]"
            target = rule.get("target", rule.get("network_entity_id"))
            rules.append({
                "destination": rule.get("destination"),
                "destinationType": rule.get("destination_type", "CIDR_BLOCK"),
                "networkEntityId": lookup(all_gateways, target, "gateway", rwhere)
                if target else None,
                "description": rule.get("description"), "routeType": "STATIC"})
        rt["routeRules"] = rules
        rt.pop("target", None)
    security_lists = child_docs("security_lists", "securityList")
    for sl in security_lists:
        sl.setdefault("egressSecurityRules", [])
        sl.setdefault("ingressSecurityRules", [])
    nsgs = child_docs("network_security_groups", "networkSecurityGroup", skip=("rules",))
    for j, nsg in enumerate(nsgs):
        nsg.pop("rules", None)
        rules = (spec.get("network_security_groups") or [])[j].get("rules") or []
        tenancy.nsg_rules[nsg["id"]] = [
            {**camel(tenancy._substitute(r, where)), "id": f"{k:06X}", "isValid": True,
             "isStateless": r.get("is_stateless", False), "timeCreated": tenancy.stamp}
            for k, r in enumerate(rules)]

    subnets = child_docs("subnets", "subnet", skip=("security_lists",))
    for j, subnet in enumerate(subnets):
        sspec = (spec.get("subnets") or [])[j]
        swhere = f"{where}.subnets[{j}]"
        if not sspec.get("cidr_block"):
            raise TenancyFileError(f"{swhere}: cidr_block is required")
        subnet.pop("routeTable", None)
        subnet.pop("securityLists", None)
        subnet["routeTableId"] = (lookup(route_tables, sspec["route_table"], "route table",
                                         swhere) if sspec.get("route_table") else None)
        subnet["securityListIds"] = [lookup(security_lists, ref, "security list", swhere)
                                     for ref in sspec.get("security_lists") or []]
        subnet.setdefault("prohibitPublicIpOnVnic", False)
        subnet.setdefault("prohibitInternetIngress",
                          subnet["prohibitPublicIpOnVnic"])
        subnet.setdefault("virtualRouterIp", first_host(sspec["cidr_block"]))
        subnet.setdefault("virtualRouterMac", "00:00:17:00:00:01")

    tenancy.by_kind["vcn"].append(vcn)
    for kind, docs in gateways.items():
        tenancy.by_kind[kind].extend(docs)
    tenancy.by_kind["routeTable"].extend(route_tables)
    tenancy.by_kind["securityList"].extend(security_lists)
    tenancy.by_kind["networkSecurityGroup"].extend(nsgs)
    tenancy.by_kind["subnet"].extend(subnets)


def first_host(cidr: str) -> str:
    import ipaddress

    try:
        return str(next(ipaddress.ip_network(cidr, strict=False).hosts()))
    except (ValueError, StopIteration):
        raise TenancyFileError(f"bad CIDR {cidr!r}") from None
