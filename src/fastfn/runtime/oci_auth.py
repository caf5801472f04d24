"""Signing OCI calls with a user API key held in function configuration (seed 000).

    from fastfn.runtime.oci_auth import api_key_from_env
    creds = api_key_from_env()                  # OCI_USER_OCID, OCI_TENANCY_OCID, ...
    client = oci.object_storage.ObjectStorageClient(creds.config(), signer=creds.signer())

Configuration keys (the first name found wins): user `OCI_USER_OCID` | `OCI_USER`,
tenancy `OCI_TENANCY_OCID` | `OCI_TENANCY`, `OCI_FINGERPRINT`, `OCI_REGION`, private key
`OCI_PRIVATE_KEY` | `OCI_PRIVATE_KEY_CONTENT` | `OCI_KEY_CONTENT`, passphrase
`OCI_PRIVATE_KEY_PASSPHRASE` | `OCI_PASSPHRASE`.

The key may be PKCS#1 (`BEGIN RSA PRIVATE KEY`, what `openssl genrsa -traditional`
writes) or PKCS#8 (`BEGIN PRIVATE KEY`, OpenSSL 3's default, also encrypted), and may
have been mangled by a console field or a CI secret: flattened to one line (newlines
turned into spaces or removed), written with literal `\\n`, wrapped in quotes, or base64
encoded as a whole. It is repaired, loaded once and checked against the fingerprint, so a
wrong key fails at start-up with the cause (ApiKeyError), not as a 401 on the first call.
The key never appears in logs, errors or reprs.

On OCI Functions the resource principal (`oci.auth.signers.get_resource_principals_signer()`,
a dynamic group + a policy) needs no key in configuration at all; prefer it.
The oci SDK is imported only by `signer()`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("fastfn.oci_auth")

USER_KEYS = ("OCI_USER_OCID", "OCI_USER")
TENANCY_KEYS = ("OCI_TENANCY_OCID", "OCI_TENANCY")
FINGERPRINT_KEYS = ("OCI_FINGERPRINT",)
REGION_KEYS = ("OCI_REGION",)
PRIVATE_KEY_KEYS = ("OCI_PRIVATE_KEY", "OCI_PRIVATE_KEY_CONTENT", "OCI_KEY_CONTENT")
PASSPHRASE_KEYS = ("OCI_PRIVATE_KEY_PASSPHRASE", "OCI_PASSPHRASE")

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_ENCRYPTED_HEADERS = re.compile(
    r"Proc-Type:\s*4,ENCRYPTED\s*DEK-Info:\s*([A-Za-z0-9-]+,[0-9A-Fa-f]+)")
_FORMATS = {"RSA PRIVATE KEY": "PKCS#1", "PRIVATE KEY": "PKCS#8",
            "ENCRYPTED PRIVATE KEY": "PKCS#8 (encrypted)"}


class ApiKeyError(ValueError):
    """The API key configuration cannot sign: the message says why (never the key)."""


@dataclass(frozen=True)
class KeyInfo:
    """What a private key text turned out to be (no key material)."""

    format: str  # PKCS#1, PKCS#1 (encrypted), PKCS#8, PKCS#8 (encrypted)
    repairs: tuple[str, ...]  # what was fixed to read it, e.g. "literal \\n"
    fingerprint: str  # of its public key, as OCI shows it


def fingerprint_of(public_key: Any) -> str:
    """OCI's API key fingerprint: MD5 of the DER SubjectPublicKeyInfo, colon hex."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def repair_pem(text: str) -> tuple[str, tuple[str, ...]]:
    """A well-formed PEM from a mangled one, and the repairs made."""
    repairs: list[str] = []
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value, _ = value[1:-1].strip(), repairs.append("surrounding quotes")
    if "\\n" in value or "\\r" in value:
        value = value.replace("\\r", "").replace("\\n", "\n")
        repairs.append("literal \\n instead of newlines")
    value = value.replace("\r\n", "\n")
    if "-----BEGIN" not in value:
        try:
            decoded = base64.b64decode("".join(value.split()), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiKeyError("the private key is not a PEM key (no '-----BEGIN ... "
                              "PRIVATE KEY-----' line) nor a base64-encoded PEM") from None
        if "-----BEGIN" not in decoded:
            raise ApiKeyError("the private key is base64 but not of a PEM key")
        repairs.append("base64-encoded PEM")
        value = decoded.strip()
    match = _PEM.search(value)
    if match is None:
        raise ApiKeyError("the private key's PEM armour is incomplete (the -----END ... "
                          "----- line is missing or does not match -----BEGIN)")
    label, body = match.group(1), match.group(2)
    if "PRIVATE KEY" not in label:
        raise ApiKeyError(f"the configured key is a {label}, not a private key")
    headers = ""
    enc = _ENCRYPTED_HEADERS.search(body)
    if enc is not None:
        headers = f"Proc-Type: 4,ENCRYPTED\nDEK-Info: {enc.group(1)}\n\n"
        body = body[enc.end():]
    lines = [ln for ln in body.strip().split("\n") if ln.strip()]
    flat = "".join(body.split())
    if len(lines) <= 1 and len(flat) > 64:
        repairs.append("newlines stripped (one line)")
    elif any(len(ln.strip()) > 64 for ln in lines):
        repairs.append("lines longer than 64 characters")
    wrapped = "\n".join(flat[i:i + 64] for i in range(0, len(flat), 64))
    return f"-----BEGIN {label}-----\n{headers}{wrapped}\n-----END {label}-----\n", tuple(
        repairs)


def load_private_key(text: str, passphrase: str | None = None) -> tuple[Any, KeyInfo]:
    """Repair, load and describe an RSA private key (PKCS#1 or PKCS#8)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem, repairs = repair_pem(text)
    label = _PEM.search(pem).group(1)  # type: ignore[union-attr]
    fmt = _FORMATS.get(label, label)
    if "Proc-Type: 4,ENCRYPTED" in pem:
        fmt = "PKCS#1 (encrypted)"
    try:
        key = serialization.load_pem_private_key(
            pem.encode(), passphrase.encode() if passphrase else None)
    except TypeError:
        if passphrase:
            raise ApiKeyError(f"the {fmt} private key is not encrypted, but a passphrase "
                              "is configured: remove the passphrase") from None
        raise ApiKeyError(f"the {fmt} private key is encrypted and no passphrase is "
                          f"configured ({PASSPHRASE_KEYS[0]})") from None
    except ValueError:
        if "encrypted" in fmt and passphrase:
            raise ApiKeyError(f"the {fmt} private key does not open with the configured "
                              "passphrase") from None
        raise ApiKeyError(f"the {fmt} private key's content is damaged (InvalidPrivateKey): "
                          "its base64 body does not decode to an RSA key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ApiKeyError(f"OCI API keys are RSA; this one is {type(key).__name__}")
    return key, KeyInfo(fmt, repairs, fingerprint_of(key.public_key()))


def _pick(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip():
            return value.strip() if name not in PRIVATE_KEY_KEYS else value
    return None


@dataclass(frozen=True)
class ApiKeyCredentials:
    user: str
    tenancy: str
    fingerprint: str
    region: str
    info: KeyInfo
    _key: Any = field(repr=False, compare=False)

    def _pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return str(self._key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode())

    def config(self) -> dict[str, str]:
        """An oci config dict for clients (`key_content` is the repaired key; the dict's
        repr and str hide it)."""
        return _Config(user=self.user, tenancy=self.tenancy, fingerprint=self.fingerprint,
                       region=self.region, key_content=self._pem())

    def signer(self) -> Any:
        """An `oci.signer.Signer` for this key."""
        import oci

        return oci.signer.Signer(self.tenancy, self.user, self.fingerprint, None,
                                 private_key_content=self._pem())


class _Config(dict[str, str]):
    def __repr__(self) -> str:
        return repr({k: ("<hidden>" if k == "key_content" else v) for k, v in self.items()})

    __str__ = __repr__


def api_key_from_env(env: Mapping[str, str] | None = None) -> ApiKeyCredentials:
    """The API key in the function's configuration (its environment), checked."""
    env = os.environ if env is None else env
    values = {what: _pick(env, names) for what, names in (
        ("user", USER_KEYS), ("tenancy", TENANCY_KEYS), ("fingerprint", FINGERPRINT_KEYS),
        ("region", REGION_KEYS), ("key", PRIVATE_KEY_KEYS))}
    absent = [names[0] for what, names in (
        ("user", USER_KEYS), ("tenancy", TENANCY_KEYS), ("fingerprint", FINGERPRINT_KEYS),
        ("region", REGION_KEYS), ("key", PRIVATE_KEY_KEYS)) if values[what] is None]
    if absent:
        raise ApiKeyError(f"API key configuration incomplete: set {', '.join(absent)}")
    key, info = load_private_key(str(values["key"]), _pick(env, PASSPHRASE_KEYS))
    wanted = str(values["fingerprint"]).lower()
    if info.fingerprint != wanted:
        raise ApiKeyError(f"the private key does not match {FINGERPRINT_KEYS[0]} {wanted}: "
                          f"its public key's fingerprint is {info.fingerprint} (a key from "
                          "another pair, or the fingerprint of another key)")
    if info.repairs:
        log.warning("OCI private key repaired", extra={"repairs": list(info.repairs),
                                                       "key_format": info.format})
    return ApiKeyCredentials(str(values["user"]), str(values["tenancy"]), wanted,
                             str(values["region"]), info, key)
