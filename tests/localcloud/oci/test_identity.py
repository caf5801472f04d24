"""Identity and networking, read-only from a tenancy file: seed 001's recorded state."""

from __future__ import annotations

from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.identity import TenancyFileError

SEED_001 = """
tenancy: {name: frpowqeyehes, home_region: eu-frankfurt-1}
compartments:
  - {name: Sandbox, description: sandbox}
groups:
  - {name: CI-CD-Deployers}
dynamic_groups:
  - name: PostgresInserterFunctionDG
    matching_rule: >-
      ALL {resource.type = 'fnfunc', resource.compartment.id = '${compartment:Sandbox}'}
policies:
  - name: CICD-Deployers-Policy
    compartment: Sandbox
    statements:
      - Allow group CI-CD-Deployers to manage functions-family in compartment Sandbox
  - name: PostgresInserterFunction-Runtime-Policy
    statements:
      - >-
        Allow dynamic-group PostgresInserterFunctionDG to use virtual-network-family
        in compartment Sandbox
      - Allow dynamic-group PostgresInserterFunctionDG to read secret-bundles in compartment Sandbox
      - Allow dynamic-group PostgresInserterFunctionDG to use keys in compartment Sandbox
  - name: Tenancy-Wide-Service-Policies
    statements:
      - Allow group CI-CD-Deployers to manage repos in tenancy
      - Allow service faas to use virtual-network-family in compartment Sandbox
vcns:
  - name: sandbox-vcn
    compartment: Sandbox
    cidr_blocks: [10.1.0.0/16]
    service_gateways:
      - {name: sandbox-sgw, services: [all-fra-services-in-oracle-services-network]}
    route_tables:
      - name: private-rt
        route_rules:
          - {destination: all-fra-services-in-oracle-services-network,
             destination_type: SERVICE_CIDR_BLOCK, target: sandbox-sgw}
    security_lists:
      - name: private-sl
        egress_security_rules: [{destination: 0.0.0.0/0, protocol: all}]
    network_security_groups:
      - name: fn-nsg
        rules:
          - {direction: EGRESS, protocol: "6",
             destination: all-fra-services-in-oracle-services-network,
             destination_type: SERVICE_CIDR_BLOCK,
             tcp_options: {destination_port_range: {min: 443, max: 443}}}
    subnets:
      - {name: private, cidr_block: 10.1.1.0/24, prohibit_public_ip_on_vnic: true,
         route_table: private-rt, security_lists: [private-sl]}
"""


@pytest.fixture
def seeded(tmp_path: Path):  # type: ignore[no-untyped-def]
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text(SEED_001)
    with LocalCloud(tmp_path / "state", tenancy_file=tenancy) as cloud:
        yield cloud


def test_seed_001_is_readable_through_the_sdk(seeded: LocalCloud) -> None:
    identity = seeded.client(oci.identity.IdentityClient)
    network = seeded.client(oci.core.VirtualNetworkClient)
    root = seeded.tenancy_id

    assert identity.get_tenancy(root).data.name == "frpowqeyehes"
    compartments = identity.list_compartments(root).data
    sandbox = next(c for c in compartments if c.name == "Sandbox")
    assert identity.get_compartment(sandbox.id).data.compartment_id == root

    groups = identity.list_dynamic_groups(root).data
    assert groups[0].name == "PostgresInserterFunctionDG"
    assert sandbox.id in groups[0].matching_rule
    assert "${" not in groups[0].matching_rule
    root_policies = {p.name: p for p in identity.list_policies(root).data}
    assert set(root_policies) == {"PostgresInserterFunction-Runtime-Policy",
                                  "Tenancy-Wide-Service-Policies"}
    assert "Allow group CI-CD-Deployers to manage repos in tenancy" in \
        root_policies["Tenancy-Wide-Service-Policies"].statements
    assert [p.name for p in identity.list_policies(sandbox.id).data] == \
        ["CICD-Deployers-Policy"]

    vcn = network.list_vcns(sandbox.id).data[0]
    assert (vcn.display_name, vcn.cidr_blocks) == ("sandbox-vcn", ["10.1.0.0/16"])
    subnet = network.list_subnets(sandbox.id, vcn_id=vcn.id).data[0]
    assert (subnet.cidr_block, subnet.prohibit_public_ip_on_vnic) == ("10.1.1.0/24", True)
    route_table = network.get_route_table(subnet.route_table_id).data
    rule = route_table.route_rules[0]
    assert (rule.destination, rule.destination_type) == (
        "all-fra-services-in-oracle-services-network", "SERVICE_CIDR_BLOCK")
    gateway = network.get_service_gateway(rule.network_entity_id).data
    assert gateway.display_name == "sandbox-sgw"
    service = network.get_service(gateway.services[0].service_id).data
    assert service.cidr_block == "all-fra-services-in-oracle-services-network"
    assert "All FRA Services" in gateway.services[0].service_name
    security_list = network.get_security_list(subnet.security_list_ids[0]).data
    assert security_list.egress_security_rules[0].destination == "0.0.0.0/0"
    nsg = network.list_network_security_groups(compartment_id=sandbox.id).data[0]
    rules = network.list_network_security_group_security_rules(nsg.id).data
    assert rules[0].tcp_options.destination_port_range.min == 443

    with pytest.raises(oci.exceptions.ServiceError) as info:
        network.get_vcn("ocid1.vcn.oc1.eu-frankfurt-1.nope",
                        retry_strategy=oci.retry.NoneRetryStrategy())
    assert info.value.status == 404


def test_ids_are_stable_across_restarts(seeded: LocalCloud, tmp_path: Path) -> None:
    first = [c.id for c in seeded.client(oci.identity.IdentityClient).list_compartments(
        seeded.tenancy_id).data]
    seeded.stop()
    with LocalCloud(tmp_path / "state", tenancy_file=tmp_path / "tenancy.yaml") as again:
        second = [c.id for c in again.client(oci.identity.IdentityClient).list_compartments(
            again.tenancy_id).data]
    assert first == second


def test_a_bad_tenancy_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "tenancy.yaml"
    bad.write_text("vcns:\n  - name: v\n    cidr_blocks: [10.0.0.0/16]\n"
                   "    subnets: [{name: s, cidr_block: 10.0.0.0/24, route_table: missing}]\n")
    with pytest.raises(TenancyFileError, match="unknown route table 'missing'"):
        LocalCloud(tmp_path / "state", tenancy_file=bad).start()
