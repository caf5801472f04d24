"""Each doctor check against a failing and a passing tenancy in the local cloud."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fastfn.runtime.oci_auth import fingerprint_of

from support.doctor import IMAGE, seed001, with_statement

PULL = "Allow service faas to read repos in tenancy"
Deploy = Callable[..., Any]


def _vcn(tenancy: dict[str, Any]) -> dict[str, Any]:
    return tenancy["vcns"][0]


@pytest.mark.slow
def test_pull_policy(deploy: Deploy) -> None:
    with deploy() as d:
        assert d.status("policy.faas-pull") == "fail"
    with deploy(with_statement(seed001(), PULL)) as d:
        assert d.status("policy.faas-pull") == "ok"
    # a compartment-scoped grant does not reach a repository in the root
    with deploy(with_statement(seed001(), PULL.replace("tenancy", "compartment Sandbox"))) as d:
        assert d.status("policy.faas-pull") == "fail"


def test_a_service_name_that_does_not_exist(deploy: Deploy) -> None:
    wrong = "Allow service FNS to read repos in tenancy"
    with deploy(with_statement(seed001(), wrong)) as d:
        report = d.report()
        finding = next(f for f in report.findings if f.check == "policy.service-name")
        assert finding.status == "warn" and finding.fix == PULL
        assert next(f for f in report.findings if f.check == "policy.faas-pull").status == \
            "fail"


def test_network_policy(deploy: Deploy) -> None:
    tenancy = seed001()
    tenancy["policies"][2]["statements"].pop()  # faas use virtual-network-family
    with deploy(tenancy) as d:
        finding = d.findings("policy.faas-network")[0]
        assert finding.status == "warn"
        assert finding.fix == ("Allow service faas to use virtual-network-family in "
                               "compartment Sandbox")


@pytest.mark.parametrize(("change", "expected", "words"), [
    (lambda v: v["subnets"][0].pop("route_table"), "fail", "no route to a service gateway"),
    (lambda v: v["service_gateways"][0].update(services=["oci-fra-objectstorage"]), "fail",
     "serves only"),
    (lambda v: v["route_tables"][0]["route_rules"][0].update(
        destination="oci-fra-objectstorage"), "fail", "not all-fra-services"),
    (lambda v: None, "ok", "service gateway sandbox-sgw"),
])
def test_route(deploy: Deploy, change: Any, expected: str, words: str) -> None:
    tenancy = seed001()
    change(_vcn(tenancy))
    with deploy(tenancy) as d:
        finding = d.findings("network.route")[0]
        assert finding.status == expected and words in finding.cause, finding


def test_route_from_a_public_subnet(deploy: Deploy) -> None:
    tenancy = seed001()
    vcn = _vcn(tenancy)
    vcn["internet_gateways"] = [{"name": "igw"}]
    vcn["route_tables"].append({"name": "public-rt", "route_rules": []})
    vcn["subnets"].append({"name": "public", "cidr_block": "10.1.2.0/24",
                           "route_table": "public-rt",
                           "security_lists": vcn["subnets"][0]["security_lists"]})
    with deploy(tenancy, subnet="public") as d:
        assert d.status("network.route") == "fail"
    vcn["route_tables"][1]["route_rules"] = [{"destination": "0.0.0.0/0", "target": "igw"}]
    with deploy(tenancy, subnet="public") as d:
        assert d.status("network.route") == "ok"


@pytest.mark.slow
def test_egress_from_security_lists_or_nsgs(deploy: Deploy) -> None:
    tenancy = seed001()
    vcn = _vcn(tenancy)
    vcn["security_lists"][0]["egress_security_rules"] = [
        {"destination": "10.1.0.0/16", "protocol": "all"},
        {"destination": "0.0.0.0/0", "protocol": "6",
         "tcp_options": {"destination_port_range": {"min": 5432, "max": 5432}}}]
    vcn["network_security_groups"] = [{"name": "fn-nsg", "rules": [
        {"direction": "EGRESS", "protocol": "6",
         "destination": "all-fra-services-in-oracle-services-network",
         "destination_type": "SERVICE_CIDR_BLOCK",
         "tcp_options": {"destination_port_range": {"min": 443, "max": 443}}}]}]
    with deploy(tenancy) as d:
        finding = d.findings("network.egress")[0]
        assert finding.status == "fail"
        assert "security-list update" in finding.fix
    with deploy(tenancy, nsgs=("fn-nsg",)) as d:
        finding = d.findings("network.egress")[0]
        assert finding.status == "ok" and "NSG fn-nsg" in finding.cause


@pytest.mark.slow
def test_image_present(deploy: Deploy) -> None:
    with deploy() as d:
        assert d.status("image.present") == "ok"
        d.cloud.images.delete(IMAGE)
        finding = d.findings("image.present")[0]
        assert finding.status == "fail" and "does not exist" in finding.cause
    with deploy() as d:  # the tag re-pushed: the recorded digest is gone
        d.cloud.images.delete(IMAGE)
        (d.service_dir / "main.py").write_text("app = None  # v2\n")
        d.cloud.images.put(IMAGE, d.service_dir, "main:app")
        d.cloud.images.put(IMAGE.replace(":4f2a9c1", ":keep"), d.service_dir, "main:app")
        finding = d.findings("image.present")[0]
        assert finding.status == "fail" and "--image-digest sha256:" in finding.fix


def test_image_region(deploy: Deploy) -> None:
    other = IMAGE.replace("fra.ocir.io", "iad.ocir.io")
    with deploy(image=other) as d:
        finding = d.findings("image.region")[0]
        assert finding.status == "fail" and "us-ashburn-1" in finding.cause
    with deploy() as d:
        assert d.status("image.region") == "ok"


@pytest.mark.slow
def test_repository_compartment(deploy: Deploy) -> None:
    tenancy = seed001()
    tenancy["container_repositories"] = [{"name": "hello-world-app/postgres-inserter",
                                          "compartment": "Sandbox"}]
    with deploy(tenancy) as d:
        assert d.status("image.repository") == "ok"
    with deploy() as d:
        assert d.status("image.repository") == "warn"


@pytest.mark.slow
def test_signing_policy(deploy: Deploy) -> None:
    key = "ocid1.key.oc1.eu-frankfurt-1.signing"
    policy = {"isPolicyEnabled": True, "keyDetails": [{"kmsKeyId": key}]}
    tenancy = with_statement(seed001(), PULL)
    with deploy(tenancy, image_policy=policy) as d:
        finding = d.findings("image.signing")[0]
        assert finding.status == "fail" and "FunctionImageVerificationFail" in finding.cause
    tenancy["container_image_signatures"] = [{"image": IMAGE, "kms_key_id": key,
                                              "kms_key_version_id": key + ".v1"}]
    with deploy(tenancy, image_policy=policy) as d:
        assert d.status("image.signing") == "ok"
    with deploy() as d:
        assert d.status("image.signing") == "ok"


def test_timeout_against_callers(deploy: Deploy) -> None:
    with deploy(timeout=120) as d:
        found = d.findings("config.timeout", expected_timeout=60)
        assert [f.status for f in found] == ["warn", "warn"]
        assert "--read-timeout 125" in found[1].fix
    with deploy(timeout=30) as d:
        assert d.status("config.timeout", expected_timeout=30) == "ok"


def test_config_size(deploy: Deploy) -> None:
    with deploy(config={"BIG": "x" * 3000}) as d:
        assert d.status("config.size") == "ok"
    with deploy(config={"A": "x" * 2040, "B": "y" * 2040}) as d:  # 4082 raw, 4102 as JSON
        finding = d.findings("config.size")[0]
        assert finding.status == "fail" and "vault:" in finding.fix


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _key_config(d: Any, pem: str, fingerprint: str | None = None) -> dict[str, str]:
    user = next(u["id"] for u in d.cloud.services.tenancy.by_kind["user"])
    return {"OCI_USER_OCID": user, "OCI_TENANCY_OCID": d.cloud.tenancy_id,
            "OCI_FINGERPRINT": fingerprint or fingerprint_of(KEY.public_key()),
            "OCI_REGION": d.cloud.region, "OCI_PRIVATE_KEY": pem}


def _with_user(tenancy: dict[str, Any]) -> dict[str, Any]:
    tenancy["users"] = [{"name": "fn-caller", "api_keys": [{"public_key_pem": PUBLIC}]}]
    return tenancy


def _set_config(d: Any, config: dict[str, str]) -> None:
    fns = d.cloud.client(oci.functions.FunctionsManagementClient)
    fns.update_function(d.function_id, oci.functions.models.UpdateFunctionDetails(
        config=config))


@pytest.mark.slow
def test_api_key_in_configuration(deploy: Deploy) -> None:
    with deploy(_with_user(seed001())) as d:
        _set_config(d, _key_config(d, PEM))
        report = d.report()
        status = {f.check: f.status for f in report.findings}
        assert status["api-key.format"] == "ok" and status["api-key.probe"] == "ok"
        principal = next(f for f in report.findings if f.check == "api-key.resource-principal")
        assert principal.status == "warn" and "PostgresInserterFunctionDG" in principal.cause
        assert "get_resource_principals_signer" in principal.fix
        body = "".join(PEM.splitlines()[1:-1])
        assert body[:40] not in report.model_dump_json()

        _set_config(d, _key_config(d, PEM.replace("\n", " ")))
        finding = d.findings("api-key.format")[0]  # cryptography reads one-line PEMs now
        assert finding.status == "ok" and "newlines stripped" in finding.cause

        _set_config(d, _key_config(d, PEM.replace("\n", "\\n")))
        finding = d.findings("api-key.format")[0]
        assert finding.status == "warn" and "InvalidPrivateKey" in finding.cause

        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        other_pem = other.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()).decode()
        _set_config(d, _key_config(d, other_pem))
        assert d.status("api-key.format") == "fail"
        _set_config(d, _key_config(d, other_pem, fingerprint_of(other.public_key())))
        finding = d.findings("api-key.probe")[0]
        assert finding.status == "fail" and "401" in finding.cause
        assert "api-key upload" in finding.fix


def test_wrong_function_is_a_policy_or_missing_not_a_key_problem(deploy: Deploy) -> None:
    with deploy() as d:
        d.function_id = "ocid1.fnfunc.oc1.eu-frankfurt-1.nothere"
        finding = d.findings("access.function")[0]
        assert finding.status == "fail" and "not a key problem" in finding.cause


@pytest.mark.parametrize(("shape", "platforms", "expected"), [
    ("GENERIC_X86_ARM", ["linux/amd64"], "fail"),
    ("GENERIC_ARM", ["linux/amd64"], "fail"),
    ("GENERIC_X86_ARM", ["linux/amd64", "linux/arm64"], "ok"),
    ("GENERIC_ARM", ["linux/arm64"], "ok"),
])
def test_architecture_from_the_registry_manifest(deploy: Deploy, shape: str,
                                                 platforms: list[str], expected: str) -> None:
    with deploy(shape=shape, platforms=platforms) as d:
        finding = d.findings("image.architecture")[0]
        assert finding.status == expected, finding
        if expected == "fail":
            assert "--platform linux/" in finding.fix
        assert d.status("image.architecture", registry=False) == "skip"


@pytest.mark.slow
def test_container_command(deploy: Deploy) -> None:
    uds = ["uvicorn", "main:app", "--uds", "/tmp/iofs/lsnr.sock"]
    with deploy(command=uds) as d:
        finding = d.findings("container.cmd")[0]
        assert finding.status == "fail" and "the image's config" in finding.cause
        assert finding.fix.startswith('CMD ["fastfn", "serve"')
        # without the registry, the Dockerfile in the service directory is read
        (d.service_dir / "Dockerfile").write_text(
            "FROM python:3.12-slim\nCMD uvicorn main:app --host 0.0.0.0 --port 8080\n")
        finding = d.findings("container.cmd", registry=False)[0]
        assert finding.status == "fail" and "TCP" in finding.cause
        (d.service_dir / "Dockerfile").write_text(
            'FROM python:3.12-slim\nCMD ["fastfn", "serve", "main:app"]\n')
        assert d.status("container.cmd", registry=False) == "ok"
    with deploy() as d:
        assert d.status("container.cmd") == "ok"
