"""ssm: references through the real boto3 against a real moto server (a subprocess), with
nothing but AWS_* environment variables telling the runtime where to go."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from fastfn.runtime.secrets import (
    MASK,
    SecretResolutionError,
    SecretResolver,
    install_log_redaction,
    reference_error,
)

from support.waiting import wait_for

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "eu-central-1", "AWS_EC2_METADATA_DISABLED": "true"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None, "moto_server exited"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(key, value)
    return moto_url


def _put(moto_url: str, name: str, value: str, kind: str = "SecureString") -> None:
    import boto3

    boto3.client("ssm", endpoint_url=moto_url, region_name=AWS_ENV["AWS_DEFAULT_REGION"],
                 aws_access_key_id="testing", aws_secret_access_key="testing").put_parameter(
        Name=name, Value=value, Type=kind, Overwrite=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_secure_string_resolves_in_a_fresh_process_from_the_environment_alone(
        moto_url: str) -> None:
    _put(moto_url, "/api-keys/github-digest", "ghp-digest-value-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENV, AWS_ENDPOINT_URL=moto_url, APP_GITHUB="ssm:/api-keys/github-digest")
    code = ("import sys, json\n"
            "from fastfn.runtime import secrets\n"
            "before = 'boto3' in sys.modules\n"
            "value = secrets.resolve_env('APP_GITHUB').reveal()\n"
            "print(json.dumps([before, 'boto3' in sys.modules, value]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, True, "ghp-digest-value-1"]


def test_plain_string_and_string_list_parameters_resolve_too(aws_env: str) -> None:
    _put(aws_env, "plain.name", "not-secure-value")
    _put(aws_env, "/lists/hosts", "a.example,b.example", kind="StringList")
    resolver = SecretResolver()
    assert resolver.resolve("ssm:plain.name").reveal() == "not-secure-value"
    assert resolver.resolve("ssm:/lists/hosts").reveal() == "a.example,b.example"


def test_missing_parameter_names_the_reference(aws_env: str) -> None:
    with pytest.raises(SecretResolutionError) as caught:
        SecretResolver().resolve("ssm:/does/not-exist", name="API_KEY")
    assert str(caught.value) == ("cannot resolve secret API_KEY 'ssm:/does/not-exist': "
                                 "ParameterNotFound (HTTP 400)")


def test_unreachable_endpoint_fails_fast_and_names_the_reference(
        aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    began = time.monotonic()
    with pytest.raises(SecretResolutionError,
                       match=f"'ssm:/x/y': cannot reach {closed}: EndpointConnectionError"):
        SecretResolver().resolve("ssm:/x/y")
    assert time.monotonic() - began < 5


def test_no_credentials_is_a_clear_error(aws_env: str, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Any) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(SecretResolutionError, match=r"'ssm:/x': no usable AWS credentials"):
        SecretResolver().resolve("ssm:/x")


def test_resolved_value_is_masked_in_logs(aws_env: str) -> None:
    _put(aws_env, "/db/dsn", "postgresql://app:ssm-pw-77Q@db/items")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_log_redaction(handler)
    logger = logging.getLogger("fastfn.tests.ssm-redaction")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    try:
        secret = SecretResolver().resolve("ssm:/db/dsn")
        assert repr(secret) == f"Secret('{MASK}')"
        logger.info("dsn %s and password %s", secret.reveal(), "ssm-pw-77Q")
    finally:
        logger.removeHandler(handler)
    assert "ssm-pw-77Q" not in stream.getvalue()
    assert stream.getvalue().strip() == f"dsn {MASK} and password {MASK}"


def test_rotation_is_seen_after_the_ttl(aws_env: str) -> None:
    _put(aws_env, "/rotating/token", "token-v1")
    clock = Clock()
    resolver = SecretResolver(ttl=60, clock=clock)
    assert resolver.resolve("ssm:/rotating/token").reveal() == "token-v1"
    _put(aws_env, "/rotating/token", "token-v2")
    clock.now += 59
    assert resolver.resolve("ssm:/rotating/token").reveal() == "token-v1"
    clock.now += 2
    assert resolver.resolve("ssm:/rotating/token").reveal() == "token-v2"


@pytest.mark.parametrize("reference", ["ssm:", "ssm:a b", "ssm://double", "ssm:/trailing/",
                                       "ssm:name:3", "ssm:" + "a" * 2049])
def test_malformed_ssm_references_are_refused_before_any_call(reference: str) -> None:
    with pytest.raises(SecretResolutionError, match="an ssm reference is 'ssm:<parameter"):
        SecretResolver(environ={}).resolve(reference)
    assert reference_error(reference) is not None


def test_reference_error_for_the_manifest() -> None:
    for valid in ("ssm:/api-keys/github-digest", "ssm:plain", "env:DB_DSN",
                  "vault:ocid1.vaultsecret.oc1..abc"):
        assert reference_error(valid) is None
    message = reference_error("hunter2-pasted-value")
    assert message is not None and "hunter2" not in message
    assert "'ssm:<parameter name>', 'vault:<secret OCID>' or 'env:NAME'" in message
    malformed = reference_error("vault:hunter2")
    assert malformed is not None and "hunter2" not in malformed
    assert "'env:NAME'" in malformed


def test_an_endpoint_given_to_the_resolver_wins_over_the_environment(
        aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _put(aws_env, "/override/key", "override-value")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    resolver = SecretResolver(endpoints={"ssm": aws_env})
    assert resolver.resolve("ssm:/override/key").reveal() == "override-value"
