"""fastfn.runtime.secrets: references, the Secret type, log redaction, the TTL cache, and
vault: references through the real oci SDK against the local OCI cloud."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from fastfn.runtime.secrets import (
    MASK,
    Secret,
    SecretRedactingFilter,
    SecretResolutionError,
    SecretResolver,
    install_log_redaction,
    redact,
)

try:
    from fastfn.localcloud.oci import LocalCloud

    LocalCloud.__name__  # noqa: B018  (the lazy attribute import fails here if it is missing)
    HAVE_LOCAL_CLOUD = True
except Exception:  # not built yet, or its dependencies are missing
    HAVE_LOCAL_CLOUD = False

needs_local_cloud = pytest.mark.skipif(not HAVE_LOCAL_CLOUD,
                                       reason="fastfn.localcloud.oci.LocalCloud not importable")

MASKED = f"Secret('{MASK}')"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingEnviron(Mapping[str, str]):
    """An environment whose lookups are counted and slow, to show concurrent resolutions of
    one reference do one fetch."""

    def __init__(self, values: dict[str, str], delay: float = 0.0) -> None:
        self.values = values
        self.delay = delay
        self.lookups: dict[str, int] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> str:
        with self._lock:
            self.lookups[key] = self.lookups.get(key, 0) + 1
        time.sleep(self.delay)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


# -- import cost: the oci SDK only for vault: references ---------------------------------------

def _run_python(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_and_env_resolution_do_not_load_oci_or_dev_side_modules() -> None:
    out = _run_python(
        "import os, sys, json\n"
        "import fastfn.runtime.secrets as s\n"
        "after_import = sorted(m for m in sys.modules if m == 'oci' or m.startswith('oci.'))\n"
        "os.environ['FASTFN_TEST_SECRET'] = 'value-1'\n"
        "assert s.resolve('env:FASTFN_TEST_SECRET').reveal() == 'value-1'\n"
        "after_env = sorted(m for m in sys.modules if m == 'oci' or m.startswith('oci.'))\n"
        "dev = sorted(m for m in sys.modules if m.split('.')[:2] in (['fastfn', 'localcloud'],"
        " ['fastfn', 'cli'], ['fastfn', 'deploy'], ['fastfn', 'doctor']))\n"
        "print(json.dumps([after_import, after_env, dev]))\n")
    assert json.loads(out) == [[], [], []]


# -- references ---------------------------------------------------------------------------------

def test_env_reference_resolves_from_the_environment() -> None:
    resolver = SecretResolver(environ={"DB_PASSWORD": "s3cret-pw"})
    secret = resolver.resolve("env:DB_PASSWORD")
    assert secret.reveal() == "s3cret-pw"
    assert secret.get_secret_value() == "s3cret-pw"
    assert secret.reveal_bytes() == b"s3cret-pw"


def test_unset_env_variable_names_the_reference() -> None:
    with pytest.raises(SecretResolutionError) as caught:
        SecretResolver(environ={}).resolve("env:MISSING_ONE")
    assert str(caught.value) == ("cannot resolve secret 'env:MISSING_ONE': environment "
                                 "variable MISSING_ONE is not set")
    assert caught.value.reference == "env:MISSING_ONE"


@pytest.mark.parametrize("value", ["hunter2-plain", "postgresql://app:hunter2@db:5432/items",
                                   "  hunter2-spaces  ", "vaultx:hunter2"])
def test_a_value_instead_of_a_reference_is_refused_without_echoing_it(value: str) -> None:
    resolver = SecretResolver(environ={"DB_DSN": value})
    with pytest.raises(SecretResolutionError) as caught:
        resolver.resolve_env("DB_DSN")
    message = str(caught.value)
    assert "hunter2" not in message
    assert message.startswith("cannot resolve secret DB_DSN: not a secret reference")
    assert "'vault:<secret OCID>' or 'env:NAME'" in message


@pytest.mark.parametrize("reference", ["vault:", "vault:ocid1.vault.oc1..abc",
                                       "vault:ocid1.vaultsecret.oc1..a b", "env:", "env:1BAD"])
def test_malformed_references_are_named(reference: str) -> None:
    with pytest.raises(SecretResolutionError) as caught:
        SecretResolver(environ={}).resolve(reference)
    assert f"cannot resolve secret {reference!r}:" in str(caught.value)


def test_resolve_env_reads_the_reference_from_a_variable() -> None:
    resolver = SecretResolver(environ={"DB_DSN": "env:LOCAL_DSN", "LOCAL_DSN": "dsn-value"})
    assert resolver.resolve_env("DB_DSN").reveal() == "dsn-value"
    with pytest.raises(SecretResolutionError, match=r"secret NOPE: environment variable NOPE "
                                                    r"is not set"):
        resolver.resolve_env("NOPE")
    with pytest.raises(SecretResolutionError,
                       match=r"secret DB_DSN 'env:LOCAL_DSN': environment variable"):
        SecretResolver(environ={"DB_DSN": "env:LOCAL_DSN"}).resolve_env("DB_DSN")


# -- the Secret type --------------------------------------------------------------------------

def test_secret_never_shows_its_value() -> None:
    secret = Secret("correct horse battery staple")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret!s}",
             f"{secret:>40}", "%s" % secret, "%r" % (secret,),  # noqa: UP031
             "{}".format(secret),  # noqa: UP032
             str([secret]), str({"password": secret})]
    for text in shown:
        assert "horse" not in text
        assert MASKED in text
    assert repr(secret) == MASKED
    assert secret.reveal() == "correct horse battery staple"


def test_secret_equality_and_no_pickling() -> None:
    assert Secret("abcd") == Secret(b"abcd")
    assert Secret("abcd") != Secret("abce")
    assert len({Secret("abcd"), Secret("abcd")}) == 1
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret("abcd"))


def test_binary_secret_reveal_says_what_to_use() -> None:
    secret = Secret(b"\xff\xfe\x00binary")
    assert secret.reveal_bytes() == b"\xff\xfe\x00binary"
    with pytest.raises(ValueError, match="reveal_bytes"):
        secret.reveal()


# -- log redaction --------------------------------------------------------------------------------

def _logger_to(stream: io.StringIO,
               formatter: logging.Formatter) -> tuple[logging.Logger, logging.Handler]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    install_log_redaction(handler)
    logger = logging.getLogger(f"fastfn.tests.redaction.{id(stream)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger, handler


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    logger, handler = _logger_to(stream, logging.Formatter("%(levelname)s %(message)s %(dsn)s"))
    yield logger, stream
    logger.removeHandler(handler)


def test_log_output_masks_known_secret_values(
        log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    dsn = SecretResolver(environ={"DSN": "postgresql://app:pw-Zq81x@db:5432/items"}).resolve(
        "env:DSN").reveal()
    logger.info("connecting to %s", dsn, extra={"dsn": dsn})
    logger.info(f"f-string {dsn}", extra={"dsn": "-"})
    logger.info("password alone: pw-Zq81x", extra={"dsn": "-"})
    try:
        raise ConnectionError(f"could not connect to {dsn}")
    except ConnectionError:
        logger.exception("failed", extra={"dsn": "-"})
    output = stream.getvalue()
    assert "pw-Zq81x" not in output
    assert "app:" not in output  # the whole DSN is masked, not just its password
    assert output.count(MASK) >= 5
    assert "connecting to **********" in output
    assert "ConnectionError: could not connect to **********" in output


def test_runtime_json_log_lines_are_masked() -> None:
    from fastfn.runtime.logs import JsonFormatter

    stream = io.StringIO()
    logger, handler = _logger_to(stream, JsonFormatter())
    value = SecretResolver(environ={"K": "json-secret-9"}).resolve("env:K").reveal()
    logger.info("key %s", value, extra={"detail": f"k={value}"})
    logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert (line["msg"], line["detail"]) == (f"key {MASK}", f"k={MASK}")


def test_redaction_leaves_other_text_and_short_values_alone() -> None:
    Secret("ab")  # too short to search for
    Secret("long-enough-value")
    assert redact("ab long-enough-value ab") == f"ab {MASK} ab"


def test_handler_filter_masks_records_made_without_the_factory() -> None:
    Secret("filter-only-value")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "v=%s", ("filter-only-value",),
                               None)
    assert SecretRedactingFilter().filter(record)
    assert record.getMessage() == f"v={MASK}"


# -- the TTL cache --------------------------------------------------------------------------------

def test_cached_value_until_the_ttl_expires() -> None:
    clock, environ = Clock(), {"TOKEN": "one"}
    resolver = SecretResolver(ttl=60, clock=clock, environ=environ)
    assert resolver.resolve("env:TOKEN").reveal() == "one"
    environ["TOKEN"] = "two"
    clock.now += 59
    assert resolver.resolve("env:TOKEN").reveal() == "one"
    clock.now += 2
    assert resolver.resolve("env:TOKEN").reveal() == "two"
    environ["TOKEN"] = "three"
    resolver.invalidate("env:TOKEN")
    assert resolver.resolve("env:TOKEN").reveal() == "three"


def test_ttl_zero_disables_the_cache() -> None:
    environ = {"TOKEN": "one"}
    resolver = SecretResolver(ttl=0, environ=environ)
    assert resolver.resolve("env:TOKEN").reveal() == "one"
    environ["TOKEN"] = "two"
    assert resolver.resolve("env:TOKEN").reveal() == "two"


def test_a_failed_refresh_keeps_the_previous_value(caplog: pytest.LogCaptureFixture) -> None:
    clock, environ = Clock(), {"TOKEN": "kept-value-1"}
    resolver = SecretResolver(ttl=10, clock=clock, environ=environ)
    assert resolver.resolve("env:TOKEN").reveal() == "kept-value-1"
    del environ["TOKEN"]
    clock.now += 11
    with caplog.at_level(logging.WARNING, logger="fastfn.secrets"):
        assert resolver.resolve("env:TOKEN").reveal() == "kept-value-1"
    [record] = caplog.records
    assert record.reference == "env:TOKEN"  # type: ignore[attr-defined]
    assert "kept-value" not in caplog.text
    # Without a previous value the failure is raised.
    with pytest.raises(SecretResolutionError):
        SecretResolver(environ=environ).resolve("env:TOKEN")


def test_concurrent_threads_fetch_once() -> None:
    environ = CountingEnviron({"TOKEN": "shared"}, delay=0.05)
    resolver = SecretResolver(environ=environ)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(
        resolver.resolve("env:TOKEN").reveal())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["shared"] * 8
    assert environ.lookups == {"TOKEN": 1}


async def test_aresolve_runs_concurrently_and_fetches_once() -> None:
    environ = CountingEnviron({"TOKEN": "async-shared"}, delay=0.05)
    resolver = SecretResolver(environ=environ)
    secrets = await asyncio.gather(*(resolver.aresolve("env:TOKEN") for _ in range(8)))
    assert {s.reveal() for s in secrets} == {"async-shared"}
    assert environ.lookups == {"TOKEN": 1}
    with pytest.raises(SecretResolutionError, match="'env:NOT_THERE'"):
        await resolver.aresolve("env:NOT_THERE")


# -- vault: through the real oci SDK and the local OCI cloud --------------------------------------

@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    if not HAVE_LOCAL_CLOUD:
        pytest.skip("fastfn.localcloud.oci.LocalCloud not importable")
    state = Path(tempfile.mkdtemp(prefix="fastfn-secrets-cloud-"))
    try:
        with LocalCloud(state / "state") as running:
            yield running
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _create_secret(cloud: Any, name: str, value: bytes) -> str:
    import oci

    vaults = cloud.client(oci.vault.VaultsClient)
    details = oci.vault.models.CreateSecretDetails(
        compartment_id=cloud.compartment_id, vault_id=cloud.vault_id, secret_name=name,
        key_id=cloud.key_id,
        secret_content=oci.vault.models.Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(value).decode()))
    return str(vaults.create_secret(details).data.id)


def _rotate(cloud: Any, secret_id: str, value: bytes) -> None:
    import oci

    cloud.client(oci.vault.VaultsClient).update_secret(
        secret_id, oci.vault.models.UpdateSecretDetails(
            secret_content=oci.vault.models.Base64SecretContentDetails(
                content_type="BASE64", content=base64.b64encode(value).decode())))


def _api_key_environ(cloud: Any, **extra: str) -> dict[str, str]:
    return {"OCI_CONFIG_FILE": str(cloud.config_file), **extra}


@needs_local_cloud
def test_vault_reference_resolves_with_an_api_key(cloud: Any) -> None:
    secret_id = _create_secret(cloud, "db-dsn", b"postgresql://librarian_user:pw@db/items")
    resolver = SecretResolver(environ=_api_key_environ(cloud), service_endpoint=cloud.endpoint)
    secret = resolver.resolve(f"vault:{secret_id}")
    assert secret.reveal() == "postgresql://librarian_user:pw@db/items"
    assert repr(secret) == MASKED


@needs_local_cloud
def test_endpoint_from_the_environment(cloud: Any) -> None:
    secret_id = _create_secret(cloud, "via-env-endpoint", b"endpoint-env-value")
    resolver = SecretResolver(environ=_api_key_environ(cloud, FASTFN_OCI_ENDPOINT=cloud.endpoint))
    assert resolver.service_endpoint == cloud.endpoint
    assert resolver.resolve(f"vault:{secret_id}").reveal() == "endpoint-env-value"


@needs_local_cloud
def test_vault_rotation_is_seen_after_the_ttl(cloud: Any) -> None:
    secret_id = _create_secret(cloud, "rotating", b"version-1")
    clock = Clock()
    resolver = SecretResolver(ttl=300, clock=clock, environ=_api_key_environ(cloud),
                              service_endpoint=cloud.endpoint)
    reference = f"vault:{secret_id}"
    assert resolver.resolve(reference).reveal() == "version-1"
    _rotate(cloud, secret_id, b"version-2")
    assert resolver.resolve(reference).reveal() == "version-1"
    clock.now += 301
    assert resolver.resolve(reference).reveal() == "version-2"


@needs_local_cloud
def test_unknown_vault_secret_names_the_reference(cloud: Any) -> None:
    resolver = SecretResolver(environ=_api_key_environ(cloud), service_endpoint=cloud.endpoint)
    reference = "vault:ocid1.vaultsecret.oc1.eu-frankfurt-1.aaaaaaaadoesnotexist"
    with pytest.raises(SecretResolutionError) as caught:
        resolver.resolve(reference, name="DB_DSN")
    assert str(caught.value) == (f"cannot resolve secret DB_DSN {reference!r}: "
                                 "NotAuthorizedOrNotFound (HTTP 404)")


@needs_local_cloud
def test_unreachable_endpoint_fails_fast_and_names_the_reference(cloud: Any) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    resolver = SecretResolver(environ=_api_key_environ(cloud), service_endpoint=closed)
    reference = "vault:ocid1.vaultsecret.oc1..aaaaaaaaunreachable"
    began = time.monotonic()
    with pytest.raises(SecretResolutionError, match=f"{reference!r}: cannot reach {closed}"):
        resolver.resolve(reference)
    assert time.monotonic() - began < 5


def test_missing_oci_config_is_a_clear_error(tmp_path: Path) -> None:
    resolver = SecretResolver(environ={"OCI_CONFIG_FILE": str(tmp_path / "none")})
    with pytest.raises(SecretResolutionError,
                       match=r"'vault:ocid1.vaultsecret.oc1..x': no usable OCI credentials: "
                             r".*does not exist"):
        resolver.resolve("vault:ocid1.vaultsecret.oc1..x")


@needs_local_cloud
@pytest.mark.parametrize("through", ["proxy", "endpoint"])
def test_vault_reference_resolves_with_a_resource_principal(cloud: Any, through: str) -> None:
    """In a fresh process with the variables a function gets on OCI (resource principal,
    region metadata): through OCI's own Secrets host name via the local cloud's HTTPS proxy,
    or at FASTFN_OCI_ENDPOINT. The SDK is imported only when the vault reference resolves."""
    # The local cloud's own way to mint a function's resource principal (its internals: a
    # function it runs gets exactly these variables).
    from fastfn.localcloud.oci.principals import ResourcePrincipals

    secret_id = _create_secret(cloud, f"rp-{through}", b"rp-secret-value")
    principals = ResourcePrincipals(cloud.services.ctx, cloud.services.tokens)
    fn_env = principals.environment({"id": "ocid1.fnfunc.oc1..secretstest",
                                     "compartmentId": cloud.compartment_id})
    if through == "proxy":
        fn_env.pop("FASTFN_OCI_ENDPOINT")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCI_")}
    env.update(fn_env, APP_DB_DSN=f"vault:{secret_id}",
               OCI_CONFIG_FILE=str(Path(tempfile.gettempdir()) / "no-such-oci-config"))
    out = _run_python(
        "import sys, json\n"
        "from fastfn.runtime import secrets\n"
        "before = 'oci' in sys.modules\n"
        "value = secrets.resolve_env('APP_DB_DSN').reveal()\n"
        "print(json.dumps([before, 'oci' in sys.modules, value]))\n", env=env)
    assert json.loads(out) == [False, True, "rp-secret-value"]
