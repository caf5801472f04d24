"""Policy enforcement per service: a user of group `devs` (API key in the tenancy file)
allowed exactly what the tenancy's policies say, every denial in the shape the real service
gives (through the real oci SDK), and the cloud's own user (the tenancy administrator)
allowed everything."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest
from starlette.routing import Route

from fastfn.localcloud.oci.core.authz import Authorizer, Rule, guard, in_query
from fastfn.localcloud.oci.server import CloudServices

from support.tenancy import cloud_with_dev

NO_RETRY = oci.retry.NoneRetryStrategy()
GENERIC = (404, "NotAuthorizedOrNotFound")


STATEMENTS = [
    "Allow group devs to read objects in compartment local where target.bucket.name = 'open'",
    "Allow group devs to use objects in compartment local where target.bucket.name = 'rw'",
    "Allow group devs to inspect buckets in compartment local",
    "Allow group devs to read secret-bundles in compartment local where target.secret.name = 'ok'",
    "Allow group devs to inspect vcns in compartment local",
    "Allow group devs to inspect fn-app in compartment local",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("authz")
    with cloud_with_dev(root, STATEMENTS, tenancy_name="acme") as (cloud, config):
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        for bucket in ("open", "rw", "closed"):
            storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
                name=bucket, compartment_id=cloud.compartment_id))
            storage.put_object(cloud.namespace, bucket, "a.txt", b"hello")
        yield {"cloud": cloud, "config": config}


def dev(env: dict[str, Any], kind: type[Any]) -> Any:
    return kind(env["config"], service_endpoint=env["cloud"].endpoint)


def refused(call: Callable[[], Any]) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as info:
        call()
    return info.value


def test_object_storage_by_bucket_name_and_object_state(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    ns = cloud.namespace
    storage = dev(env, oci.object_storage.ObjectStorageClient)
    assert storage.get_object(ns, "open", "a.txt", retry_strategy=NO_RETRY).data.content == \
        b"hello"
    error = refused(lambda: storage.get_object(ns, "closed", "a.txt", retry_strategy=NO_RETRY))
    assert (error.status, error.code) == (404, "BucketNotFound")
    assert error.message == (f"Either the bucket named 'closed' does not exist in the "
                             f"namespace '{ns}' or you are not authorized to access it")
    # `use objects` overwrites an existing name but may not create one (OBJECT_CREATE).
    storage.put_object(ns, "rw", "a.txt", b"again", retry_strategy=NO_RETRY)
    error = refused(lambda: storage.put_object(ns, "rw", "new.txt", b"x",
                                               retry_strategy=NO_RETRY))
    assert (error.status, error.code) == (404, "BucketNotFound")
    error = refused(lambda: storage.put_object(ns, "open", "a.txt", b"x",
                                               retry_strategy=NO_RETRY))
    assert error.code == "BucketNotFound"
    # nothing was written by the refused calls
    admin = cloud.client(oci.object_storage.ObjectStorageClient)
    assert admin.get_object(ns, "open", "a.txt").data.content == b"hello"
    names = [o.name for o in admin.list_objects(ns, "rw").data.objects]
    assert names == ["a.txt"]
    assert {b.name for b in storage.list_buckets(ns, cloud.compartment_id).data} == \
        {"open", "rw", "closed"}
    error = refused(lambda: storage.delete_object(ns, "rw", "a.txt", retry_strategy=NO_RETRY))
    assert error.code == "BucketNotFound"


def test_secret_bundles_by_secret_name(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    vaults = cloud.client(oci.vault.VaultsClient)
    ids = {}
    for name in ("ok", "other"):
        ids[name] = vaults.create_secret(oci.vault.models.CreateSecretDetails(
            compartment_id=cloud.compartment_id, vault_id=cloud.vault_id,
            key_id=cloud.key_id, secret_name=name,
            secret_content=oci.vault.models.Base64SecretContentDetails(
                content_type="BASE64", content="c2VjcmV0"))).data.id
    secrets = dev(env, oci.secrets.SecretsClient)
    assert secrets.get_secret_bundle(ids["ok"], retry_strategy=NO_RETRY).data \
        .secret_bundle_content.content == "c2VjcmV0"
    error = refused(lambda: secrets.get_secret_bundle(ids["other"], retry_strategy=NO_RETRY))
    assert (error.status, error.code, error.message) == (
        *GENERIC, "Authorization failed or requested resource not found.")
    assert "c2VjcmV0" not in str(error)
    by_name = refused(lambda: secrets.get_secret_bundle_by_name(
        "other", cloud.vault_id, retry_strategy=NO_RETRY))
    assert (by_name.status, by_name.code) == GENERIC
    # reading metadata is another permission (SECRET_INSPECT), not granted
    listing = refused(lambda: dev(env, oci.vault.VaultsClient).list_secrets(
        cloud.compartment_id, retry_strategy=NO_RETRY))
    assert (listing.status, listing.code) == GENERIC


@pytest.mark.parametrize("call", [
    lambda c, e: dev(e, oci.functions.FunctionsManagementClient).list_functions(
        c.client(oci.functions.FunctionsManagementClient).create_application(
            oci.functions.models.CreateApplicationDetails(
                compartment_id=c.compartment_id, display_name="denied",
                subnet_ids=[c.subnet_id])).data.id, retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.events.EventsClient).list_rules(c.compartment_id,
                                                            retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.identity.IdentityClient).list_policies(c.tenancy_id,
                                                                  retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.core.VirtualNetworkClient).list_subnets(c.compartment_id,
                                                                   retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.core.ComputeClient).list_instances(c.compartment_id,
                                                              retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.core.ComputeManagementClient).list_instance_pools(
        c.compartment_id, retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.load_balancer.LoadBalancerClient).list_load_balancers(
        c.compartment_id, retry_strategy=NO_RETRY),
    lambda c, e: dev(e, oci.core.ComputeManagementClient).list_instance_configurations(
        c.compartment_id, retry_strategy=NO_RETRY),
], ids=["functions", "events", "identity", "network", "compute", "pools", "lb", "configs"])
def test_every_service_denies_what_no_statement_grants(env: dict[str, Any], call: Any) -> None:
    cloud = env["cloud"]
    error = refused(lambda: call(cloud, env))
    assert (error.status, error.code) == GENERIC


def test_what_is_granted_is_allowed_and_the_admin_may_do_anything(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    assert dev(env, oci.core.VirtualNetworkClient).list_vcns(
        cloud.compartment_id, retry_strategy=NO_RETRY).data
    assert isinstance(dev(env, oci.functions.FunctionsManagementClient).list_applications(
        cloud.compartment_id, retry_strategy=NO_RETRY).data, list)
    # GetNamespace needs no permission at all
    assert dev(env, oci.object_storage.ObjectStorageClient).get_namespace().data == \
        cloud.namespace
    admin = cloud.client(oci.identity.IdentityClient)
    assert {p.name for p in admin.list_policies(cloud.compartment_id).data} == {"devs"}


def test_a_bad_policy_statement_is_a_400_naming_the_column(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    identity = cloud.client(oci.identity.IdentityClient)
    error = refused(lambda: identity.create_policy(oci.identity.models.CreatePolicyDetails(
        compartment_id=cloud.tenancy_id, name="broken", description="x",
        statements=["Allow group devs to frobnicate objects in tenancy"]),
        retry_strategy=NO_RETRY))
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert "column" in error.message and "frobnicate" in error.message


def test_every_route_needs_a_rule() -> None:
    async def endpoint(request: Any) -> Any:
        raise AssertionError("not called")

    authorizer = Authorizer()
    routes = [Route("/things", endpoint, methods=["GET"]),
              Route("/things/{id}", endpoint, methods=["DELETE"])]
    table = {"GET /things": Rule("ListThings", "things", ("THING_INSPECT",), in_query())}
    with pytest.raises(KeyError, match=re.escape("DELETE /things/{id}")):
        guard(routes, table, None, authorizer)


def test_every_table_entry_names_a_real_route(tmp_path: Path) -> None:
    # A rule whose route was renamed would silently guard nothing.
    from fastfn.localcloud.oci.compute import permissions as compute
    from fastfn.localcloud.oci.computemanagement import permissions as pools
    from fastfn.localcloud.oci.events import permissions as events
    from fastfn.localcloud.oci.functions import permissions as functions
    from fastfn.localcloud.oci.identity import permissions as identity
    from fastfn.localcloud.oci.loadbalancer import permissions as lb
    from fastfn.localcloud.oci.network import permissions as network
    from fastfn.localcloud.oci.objectstorage import permissions as objectstorage
    from fastfn.localcloud.oci.secrets import permissions as secrets

    services = CloudServices(tmp_path / "state")
    try:
        declared = {f"{m} {r.path}" for r in services.routes() if isinstance(r, Route)
                    for m in (r.methods or ())}
    finally:
        services.close()
    keys = {k for table in (compute.CONFIGURATION_RULES, compute.INSTANCE_RULES, pools.RULES,
                            events.RULES, functions.RULES, identity.RULES, lb.RULES,
                            network.RULES, objectstorage.RULES, secrets.RULES)
            for k in table}
    assert keys - declared == set()


def test_invoking_a_function_needs_use_fn_invocation(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    management = cloud.client(oci.functions.FunctionsManagementClient)
    app_id = management.create_application(oci.functions.models.CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="invokable",
        subnet_ids=[cloud.subnet_id])).data.id
    fn = management.create_function(oci.functions.models.CreateFunctionDetails(
        display_name="f", application_id=app_id, memory_in_mbs=128,
        source_details=oci.functions.models.CreateContainerImageFunctionSourceDetails(
            image="fra.ocir.io/ns/repo/f:1",
            image_digest="sha256:" + "0" * 64))).data
    invoke = oci.functions.FunctionsInvokeClient(env["config"],
                                                 service_endpoint=cloud.endpoint)
    error = refused(lambda: invoke.invoke_function(fn.id, invoke_function_body=b"{}",
                                                   retry_strategy=NO_RETRY))
    assert (error.status, error.code) == GENERIC


def test_a_tenancy_with_a_bad_statement_is_refused_at_start(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fastfn.cli import app

    bad = tmp_path / "tenancy.yaml"
    bad.write_text("policies:\n  - name: p\n    statements:\n"
                   "      - Allow group devs to read objects in nowhere\n")
    result = CliRunner().invoke(app, ["cloud", "up", "--state-dir", str(tmp_path / "s"),
                                      "--port", "0", "--proxy-port", "0", "--tenancy",
                                      str(bad)])
    assert result.exit_code == 1
    assert "policy p" in result.output and "column" in result.output
    assert "Traceback" not in result.output
