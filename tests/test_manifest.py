"""fastfn.yaml and func.yaml: validation errors name the key; stages resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastfn.manifest import ManifestError, load, parse

BASE = {"name": "items", "app": "main:app"}


def errors_for(**fields: object) -> str:
    with pytest.raises(ManifestError) as failure:
        parse({**BASE, **fields})
    return str(failure.value)


@pytest.mark.parametrize("fields,expected", [
    ({"memory": 500}, "fastfn.yaml: memory: must be one of 128, 256, 512, 1024, 2048, 3072"),
    ({"timeout": 301}, "fastfn.yaml: timeout: Input should be less than or equal to 300"),
    ({"config": {"1BAD": "x"}}, "config key '1BAD'"),
    ({"config": {"A": "x" * 5000}}, "function config is"),
    ({"default_route": "items"}, "default_route: must look like 'POST /items'"),
    ({"path_prefix": "v1/"}, "path_prefix: must look like '/v1'"),
    ({"shape": "ARM"}, "shape: Input should be 'GENERIC_X86'"),
    ({"app": "main"}, "app: String should match pattern"),
    ({"stages": {"dev": {"memory": 100}}}, "stages.dev.memory: must be one of"),
    ({"stages": {"dev": {"memry": 512}}}, "stages.dev.memry: Extra inputs are not permitted"),
    ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
])
def test_errors_name_the_key(fields, expected):
    assert expected in errors_for(**fields)


def test_secret_values_are_refused_without_being_echoed():
    message = errors_for(secrets={"DB_PASSWORD": "hunter2-canary"})
    assert "secrets: secret DB_PASSWORD must be a reference" in message
    assert "hunter2-canary" not in message


def test_config_size_counts_the_stage_overrides():
    message = errors_for(config={"A": "x" * 2000}, stages={"big": {"config": {"B": "y" * 2500}}})
    assert "stages.big.config" in message


def test_stage_overrides_and_function_config():
    manifest = parse({
        **BASE, "memory": 512, "timeout": 60, "default_route": "POST /items",
        "path_prefix": "/v1", "config": {"SMTP_PORT": 587, "DEBUG": True, "LEVEL": "info"},
        "secrets": {"DB_DSN": "vault:ocid1.vaultsecret.oc1.eu-frankfurt-1.abc"},
        "stages": {"prod": {"memory": 1024, "config": {"LEVEL": "warning"}}},
    })
    dev = manifest.resolve()
    prod = manifest.resolve("prod")
    assert (dev.name, dev.memory, dev.timeout) == ("items", 512, 60)
    assert (prod.name, prod.memory, prod.timeout) == ("items-prod", 1024, 60)
    assert prod.config["LEVEL"] == "warning" and dev.config["LEVEL"] == "info"
    assert dev.config["SMTP_PORT"] == "587" and dev.config["DEBUG"] == "true"
    env = prod.function_config()
    assert env["FASTFN_DEFAULT_ROUTE"] == "POST /items"
    assert env["FASTFN_ROOT_PATH"] == "/v1"
    assert env["DB_DSN"].startswith("vault:")
    with pytest.raises(ManifestError, match="unknown stage 'qa'"):
        manifest.resolve("qa")


def test_load_prefers_fastfn_yaml_and_reads_func_yaml(tmp_path: Path):
    (tmp_path / "func.yaml").write_text(
        "schema_version: 20180708\nname: postgres-inserter\nversion: 0.0.1\nruntime: docker\n"
        "memory: 512\ntimeout: 60\nconfig:\n  DB_SECRET_OCID: ocid1.vaultsecret.oc1..x\n"
        "annotations:\n  fn.oci.oracle.com/fn/invokeEndpoint: /items\n")
    from_func = load(tmp_path)
    assert (from_func.name, from_func.oci.memory, from_func.oci.timeout) == (
        "postgres-inserter", 512, 60)
    assert from_func.config == {"DB_SECRET_OCID": "ocid1.vaultsecret.oc1..x"}
    (tmp_path / "fastfn.yaml").write_text("name: items\nmemory: 1024\n")
    assert load(tmp_path).name == "items"


def test_invalid_yaml_and_missing_manifest(tmp_path: Path):
    with pytest.raises(ManifestError, match=r"no fastfn\.yaml or func\.yaml"):
        load(tmp_path)
    (tmp_path / "fastfn.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load(tmp_path)


def test_detached_timeout_and_provisioned_concurrency():
    manifest = parse({**BASE, "memory": 512, "detached_timeout": 900,
                      "stages": {"prod": {"provisioned_concurrency": 10}}})
    assert (manifest.resolve().detached_timeout, manifest.resolve().provisioned_concurrency) \
        == (900, None)
    assert manifest.resolve("prod").provisioned_concurrency == 10
    assert "detached_timeout: Input should be less than or equal to 3600" in errors_for(
        detached_timeout=4000)
    assert "provisioned_concurrency: Input should be greater than or equal to 0" in errors_for(
        provisioned_concurrency=-1)


@pytest.mark.parametrize("fields,expected", [
    ({"aws": {"memory": 64}}, "aws.memory: Input should be greater than or equal to 128"),
    ({"aws": {"timeout": 901}}, "aws.timeout: Input should be less than or equal to 900"),
    ({"stages": {"qa": {"aws": {"memory": 20000}}}}, "stages.qa.aws.memory: Input should be"),
    ({"stages": {"qa": {"pool": {"prot": 1}}}}, "stages.qa.pool.prot: Extra inputs"),
    ({"oci": {"memory": 500}}, "oci.memory: must be one of"),
    ({"memory": 512, "oci": {"memory": 256}}, "memory: given both at the top level and"),
    ({"target": "gcp"}, "target: Input should be 'oci', 'aws' or 'pool'"),
])
def test_target_section_errors_name_the_key(fields, expected):
    assert expected in errors_for(**fields)


def test_stage_overrides_a_target_section_key_by_key():
    manifest = parse({**BASE, "target": "aws", "timeout": 120,
                      "aws": {"memory": 1024, "architecture": "arm64"},
                      "stages": {"prod": {"aws": {"memory": 2048}, "timeout": 200}}})
    assert manifest.target == "aws"
    prod = manifest.section("aws", "prod")
    assert (prod.memory, prod.architecture) == (2048, "arm64")
    assert manifest.section("aws").memory == 1024
    # the old top-level OCI keys are the oci section, at the top and in a stage
    assert (manifest.resolve().timeout, manifest.resolve("prod").timeout) == (120, 200)
    assert manifest.common("prod").name == "items-prod"
