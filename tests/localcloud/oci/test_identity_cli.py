"""Regions, region subscriptions, the configured user and its groups with the real oci CLI."""

from __future__ import annotations

from pathlib import Path

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud

from support.oci_cli import cli, run

pytestmark = pytest.mark.slow


def test_regions_and_subscriptions(cloud: LocalCloud) -> None:
    regions = run(cloud, "iam", "region", "list")["data"]
    by_name = {r["name"]: r["key"] for r in regions}
    assert by_name["eu-frankfurt-1"] == "FRA" and by_name["us-ashburn-1"] == "IAD"
    assert len(regions) > 20 and all(len(r["key"]) == 3 for r in regions)
    subscriptions = run(cloud, "iam", "region-subscription", "list", "--tenancy-id",
                        cloud.tenancy_id)["data"]
    assert subscriptions == [{"region-key": "FRA", "region-name": "eu-frankfurt-1",
                              "status": "READY", "is-home-region": True}]
    other = cli(cloud, "iam", "region-subscription", "list", "--tenancy-id",
                "ocid1.tenancy.oc1..someoneelse", check=False)
    assert other.returncode != 0 and '"status": 404' in other.stderr


def test_the_configured_user_and_its_groups(cloud: LocalCloud) -> None:
    user_id = cloud.config["user"]
    user = run(cloud, "iam", "user", "get", "--user-id", user_id)["data"]
    assert (user["id"], user["lifecycle-state"], user["compartment-id"]) == \
        (user_id, "ACTIVE", cloud.tenancy_id)
    assert user["capabilities"]["can-use-api-keys"] is True
    users = run(cloud, "iam", "user", "list", "--compartment-id", cloud.tenancy_id)["data"]
    assert user_id in [u["id"] for u in users]

    groups = run(cloud, "iam", "user", "list-groups", "--compartment-id", cloud.tenancy_id,
                 "--user-id", user_id)["data"]
    assert [g["name"] for g in groups] == ["Administrators"]
    members = run(cloud, "iam", "group", "list-users", "--compartment-id", cloud.tenancy_id,
                  "--group-id", groups[0]["id"])["data"]
    assert [m["id"] for m in members] == [user_id]
    identity = cloud.client(oci.identity.IdentityClient)
    membership = identity.list_user_group_memberships(cloud.tenancy_id, user_id=user_id).data
    assert [(m.group_id, m.lifecycle_state) for m in membership] == \
        [(groups[0]["id"], "ACTIVE")]
    assert identity.get_user_group_membership(membership[0].id).data.user_id == user_id
    missing = cli(cloud, "iam", "user", "get", "--user-id", "ocid1.user.oc1..nobody",
                  check=False)
    assert missing.returncode != 0 and "NotAuthorizedOrNotFound" in missing.stderr
    wrong_root = cli(cloud, "iam", "user", "list-groups", "--compartment-id",
                     cloud.compartment_id, "--user-id", user_id, check=False)
    assert '"status": 400' in wrong_root.stderr and "compartmentId" in wrong_root.stderr


def test_tenancy_file_members_and_administrators(tmp_path: Path) -> None:
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text("users:\n  - {name: ci}\ngroups:\n"
                       "  - {name: Deployers, members: [ci]}\n"
                       "  - {name: Administrators, members: [ci]}\n")
    with LocalCloud(tmp_path / "state", tenancy_file=tenancy) as cloud:
        ci = next(u["id"] for u in run(cloud, "iam", "user", "list", "--compartment-id",
                                       cloud.tenancy_id)["data"] if u["name"] == "ci")
        groups = run(cloud, "iam", "user", "list-groups", "--compartment-id",
                     cloud.tenancy_id, "--user-id", ci)["data"]
        assert sorted(g["name"] for g in groups) == ["Administrators", "Deployers"]
        admins = next(g["id"] for g in groups if g["name"] == "Administrators")
        members = run(cloud, "iam", "group", "list-users", "--compartment-id",
                      cloud.tenancy_id, "--group-id", admins)["data"]
        assert sorted(m["name"] for m in members) == ["ci", "fastfn-local-admin"]
