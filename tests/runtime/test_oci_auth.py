"""The API-key signer from function configuration (seed 000), against the local cloud."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fastfn.localcloud.oci import LocalCloud
from fastfn.runtime.oci_auth import ApiKeyError, api_key_from_env, fingerprint_of, repair_pem

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey, fmt: str, password: bytes | None = None) -> str:
    formats = {"pkcs1": serialization.PrivateFormat.TraditionalOpenSSL,
               "pkcs8": serialization.PrivateFormat.PKCS8}
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, formats[fmt], enc).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def body(key_text: str) -> str:
    """The base64 body of a PEM, as one string (what must never leak)."""
    return "".join(key_text.strip().splitlines()[1:-1])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    root = tmp_path_factory.mktemp("auth")
    tenancy = root / "tenancy.yaml"
    indented = "\n".join("          " + ln for ln in public_pem(KEY).splitlines())
    tenancy.write_text("users:\n  - name: fn-caller\n    api_keys:\n"
                       f"      - public_key_pem: |\n{indented}\n")
    with LocalCloud(root / "state", tenancy_file=tenancy) as running:
        yield running


def env_for(cloud: LocalCloud, key_text: str, fingerprint: str | None = None,
            **extra: str) -> dict[str, str]:
    user = next(u["id"] for u in cloud.services.tenancy.by_kind["user"]  # type: ignore[union-attr]
                if u["name"] == "fn-caller")
    return {"OCI_USER_OCID": user, "OCI_TENANCY_OCID": cloud.tenancy_id,
            "OCI_FINGERPRINT": fingerprint or fingerprint_of(KEY.public_key()),
            "OCI_REGION": cloud.region, "OCI_PRIVATE_KEY": key_text, **extra}


def namespace(cloud: LocalCloud, env: dict[str, str]) -> str:
    creds = api_key_from_env(env)
    client = oci.object_storage.ObjectStorageClient(
        creds.config(), signer=creds.signer(), service_endpoint=cloud.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy())
    return str(client.get_namespace().data)


PKCS1 = pem(KEY, "pkcs1")
PKCS8 = pem(KEY, "pkcs8")
MANGLED = {
    "pkcs1": PKCS1,
    "pkcs8": PKCS8,
    "one line, spaces": PKCS1.replace("\n", " "),
    "one line, nothing": PKCS8.replace("\n", ""),
    "literal backslash-n": PKCS1.replace("\n", "\\n"),
    "quoted, crlf": '"' + PKCS8.replace("\n", "\r\n") + '"',
    "base64 of the pem": base64.b64encode(PKCS1.encode()).decode(),
}


@pytest.mark.parametrize("variant", sorted(MANGLED))
def test_a_signed_call_is_accepted(cloud: LocalCloud, variant: str) -> None:
    assert namespace(cloud, env_for(cloud, MANGLED[variant])) == cloud.namespace


def test_repairs_are_named() -> None:
    assert repair_pem(PKCS1)[1] == ()
    assert "newlines stripped (one line)" in repair_pem(MANGLED["one line, spaces"])[1]
    assert "literal \\n instead of newlines" in repair_pem(MANGLED["literal backslash-n"])[1]
    assert "base64-encoded PEM" in repair_pem(MANGLED["base64 of the pem"])[1]


def test_encrypted_keys_need_their_passphrase(cloud: LocalCloud) -> None:
    for fmt in ("pkcs1", "pkcs8"):
        locked = pem(KEY, fmt, b"s3cret-pass")
        flat = locked.replace("\n", " ")
        env = env_for(cloud, flat, OCI_PRIVATE_KEY_PASSPHRASE="s3cret-pass")
        assert namespace(cloud, env) == cloud.namespace
        with pytest.raises(ApiKeyError, match="encrypted and no passphrase"):
            api_key_from_env(env_for(cloud, locked))
        with pytest.raises(ApiKeyError, match="passphrase"):
            api_key_from_env(env_for(cloud, locked, OCI_PRIVATE_KEY_PASSPHRASE="wrong"))


def test_a_key_not_matching_the_fingerprint_is_refused_with_the_cause(
        cloud: LocalCloud, caplog: pytest.LogCaptureFixture) -> None:
    wrong = pem(OTHER, "pkcs1")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiKeyError) as info:
        api_key_from_env(env_for(cloud, wrong))
    message = str(info.value)
    assert "does not match OCI_FINGERPRINT" in message
    assert fingerprint_of(OTHER.public_key()) in message
    assert body(wrong)[:40] not in message and body(wrong)[:40] not in caplog.text


def test_a_key_the_cloud_does_not_know_is_a_401(cloud: LocalCloud) -> None:
    # consistent locally (key and fingerprint agree) but never uploaded for the user
    env = env_for(cloud, pem(OTHER, "pkcs8"), fingerprint_of(OTHER.public_key()))
    with pytest.raises(oci.exceptions.ServiceError) as info:
        namespace(cloud, env)
    assert (info.value.status, info.value.code) == (401, "NotAuthenticated")


@pytest.mark.parametrize(("text", "cause"), [
    ("not a key at all", "not a PEM key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIabc", "armour is incomplete"),
    ("-----BEGIN RSA PRIVATE KEY-----\nAAAABBBB\n-----END RSA PRIVATE KEY-----",
     "damaged"),
    (public_pem(KEY), "not a private key"),
])
def test_bad_key_text_names_the_cause(cloud: LocalCloud, text: str, cause: str) -> None:
    with pytest.raises(ApiKeyError, match=cause):
        api_key_from_env(env_for(cloud, text))


def test_missing_settings_are_named(cloud: LocalCloud) -> None:
    env = env_for(cloud, PKCS1)
    del env["OCI_FINGERPRINT"], env["OCI_REGION"]
    with pytest.raises(ApiKeyError, match="set OCI_FINGERPRINT, OCI_REGION"):
        api_key_from_env(env)


def test_the_key_never_shows(cloud: LocalCloud, caplog: pytest.LogCaptureFixture,
                             tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    creds = api_key_from_env(env_for(cloud, MANGLED["one line, spaces"]))
    assert "newlines stripped (one line)" in str(caplog.records[-1].__dict__.get("repairs"))
    secret = body(PKCS1)[10:60]
    assert secret not in repr(creds) and secret not in str(creds.config())
    assert secret not in caplog.text
