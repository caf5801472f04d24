"""Request authentication as OCI does it: draft-cavage HTTP signatures, rsa-sha256.

Two kinds of keyId are accepted:
- `<tenancy>/<user>/<fingerprint>`: an API key registered for a user (what the SDK and
  the CLI send with a config file);
- `ST$<token>`: a resource principal session token (RPST) issued by this cloud to a
  function it runs; the token carries the session public key in its `jwk` claim, the
  way the real RPST does, and is itself an RS256 JWT signed by the cloud.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fastfn.localcloud.oci.core.errors import not_authenticated
from fastfn.localcloud.oci.core.files import create_once

MAX_CLOCK_SKEW_S = 300
SESSION_TOKEN_PREFIX = "ST$"
TOKEN_ISSUER = "fastfn-localcloud"
# Real signature headers are well under 1 KB (a 2048-bit signature is 344 characters,
# an RPST keyId a few hundred more); anything far beyond is refused before parsing.
MAX_AUTHORIZATION_BYTES = 8 * 1024
_SEPARATORS = ", \t"


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """OCI's API key fingerprint: MD5 of the DER public key, colon-separated hex."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        pem = path.read_bytes()
    else:
        # The label line is how OCI marks API signing keys; the oci CLI warns without it.
        pem = create_once(path, private_pem(generate_key()) + b"OCI_API_KEY\n")
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@dataclass(frozen=True)
class Principal:
    """Who signed a request."""

    kind: str  # "user" or "resource"
    id: str  # user OCID or resource OCID
    tenancy_id: str
    compartment_id: str | None = None
    resource_type: str = ""  # a resource principal's type, e.g. fnfunc


@dataclass(frozen=True)
class ApiKey:
    tenancy_id: str
    user_id: str
    fingerprint: str
    public_key: rsa.RSAPublicKey


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uint_b64url(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


class TokenAuthority:
    """Issues and checks resource principal session tokens."""

    def __init__(self, signing_key: rsa.RSAPrivateKey, tenancy_id: str) -> None:
        self._key = signing_key
        self.tenancy_id = tenancy_id

    def issue(self, resource_id: str, resource_type: str, compartment_id: str,
              session_key: rsa.RSAPublicKey, ttl_s: int = 24 * 3600) -> str:
        import jwt  # PyJWT comes with the oci SDK

        numbers = session_key.public_numbers()
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER, "sub": resource_id, "ttype": "res",
            "res_type": resource_type, "res_id": resource_id,
            "res_tenant": self.tenancy_id, "res_compartment": compartment_id,
            "iat": now, "exp": now + ttl_s,
            # As in the real RPST: the session public key, JWK as a JSON string.
            "jwk": json.dumps({"kid": "asw", "kty": "RSA", "alg": "RS256", "use": "sig",
                               "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}),
        }
        return jwt.encode(claims, private_pem(self._key), algorithm="RS256")

    def verify(self, token: str) -> tuple[dict[str, Any], rsa.RSAPublicKey]:
        import jwt

        try:
            claims = jwt.decode(token, public_pem(self._key.public_key()),
                                algorithms=["RS256"], issuer=TOKEN_ISSUER)
            jwk = json.loads(claims["jwk"])
            session_key = rsa.RSAPublicNumbers(_uint_b64url(jwk["e"]),
                                               _uint_b64url(jwk["n"])).public_key()
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise not_authenticated("The session token is invalid or expired.") from None
        return claims, session_key


def _signature_params(text: str) -> dict[str, str]:
    """`name="value", name="value"` in one left-to-right pass (each character is looked
    at a bounded number of times, whatever the input)."""
    params: dict[str, str] = {}
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in _SEPARATORS:
            pos += 1
            continue
        eq = text.find("=", pos)
        name = text[pos:eq] if eq >= 0 else ""
        if not name.isalnum() or text[eq + 1:eq + 2] != '"':
            raise not_authenticated("The Authorization header is malformed.")
        close = text.find('"', eq + 2)
        if close < 0:
            raise not_authenticated("The Authorization header is malformed.")
        params[name] = text[eq + 2:close]
        pos = close + 1
    return params


def parse_authorization(value: str) -> dict[str, str]:
    if len(value) > MAX_AUTHORIZATION_BYTES:
        raise not_authenticated(
            f"The Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes.")
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "signature":
        raise not_authenticated("The Authorization header is not an HTTP signature.")
    params = _signature_params(rest)
    for required in ("keyId", "signature", "headers"):
        if required not in params:
            raise not_authenticated(f"The signature has no {required}.")
    if params.get("algorithm", "rsa-sha256") != "rsa-sha256":
        raise not_authenticated("Only rsa-sha256 signatures are supported.")
    return params


class SignatureVerifier:
    def __init__(self, tokens: TokenAuthority) -> None:
        self.tokens = tokens
        self._keys: dict[str, ApiKey] = {}

    def add_key(self, key: ApiKey) -> None:
        self._keys[f"{key.tenancy_id}/{key.user_id}/{key.fingerprint}"] = key

    def verify(self, method: str, target: str,
               headers: dict[str, str]) -> tuple[Principal, list[str]]:
        """Check a request's signature; returns the principal and the signed header names.

        `target` is the path and query exactly as sent; `headers` has lowercase names.
        """
        auth = headers.get("authorization")
        if not auth:
            raise not_authenticated("The Authorization header is missing.")
        params = parse_authorization(auth)
        signed = params["headers"].lower().split()
        for required in ("(request-target)", "host"):
            if required not in signed:
                raise not_authenticated(f"The signature must cover {required}.")
        if "date" not in signed and "x-date" not in signed:
            raise not_authenticated("The signature must cover the date.")
        self._check_date(headers.get("x-date") or headers.get("date") or "")

        principal, public_key = self._resolve(params["keyId"])
        lines = []
        for name in signed:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {target}")
            elif name in headers:
                lines.append(f"{name}: {headers[name]}")
            else:
                raise not_authenticated(f"The signed header {name} is missing.")
        try:
            signature = base64.b64decode(params["signature"], validate=True)
            public_key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(),
                              hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise not_authenticated("The request signature is not valid.") from None
        return principal, signed

    def _resolve(self, key_id: str) -> tuple[Principal, rsa.RSAPublicKey]:
        if key_id.startswith(SESSION_TOKEN_PREFIX):
            claims, session_key = self.tokens.verify(key_id[len(SESSION_TOKEN_PREFIX):])
            return Principal("resource", claims["res_id"], claims["res_tenant"],
                             claims.get("res_compartment"),
                             str(claims.get("res_type", ""))), session_key
        key = self._keys.get(key_id)
        if key is None:
            # Same answer for unknown tenancy, user or fingerprint, as OCI gives.
            raise not_authenticated()
        return Principal("user", key.user_id, key.tenancy_id), key.public_key

    @staticmethod
    def _check_date(value: str) -> None:
        try:
            sent = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            raise not_authenticated("The date header is missing or malformed.") from None
        if abs(time.time() - sent) > MAX_CLOCK_SKEW_S:
            raise not_authenticated("The date header is more than 5 minutes off.")


def content_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()
