"""What every event source shares: the parsed call, body decoding, and the base64 rule."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from fastfn.runtime.asgi.scope import HeaderList

# Response content types sent as text when the body is valid UTF-8; everything else (and
# any content-encoded body) is base64 with isBase64Encoded, so binary bodies round-trip.
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
               "application/x-www-form-urlencoded", "application/graphql")
_TEXT_SUFFIXES = ("+json", "+xml")


class EventError(ValueError):
    """An event that cannot be turned into a call; the message names the field."""


class HttpCall:
    """An HTTP request carried by an event: the ASGI scope and the whole body."""

    __slots__ = ("body", "scope")

    def __init__(self, scope: dict, body: bytes) -> None:
        self.scope = scope
        self.body = body


def decode_body(event: dict) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise EventError("event field 'body' must be a string or null")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise EventError("event field 'body' is not valid base64 although "
                             "'isBase64Encoded' is true") from None
    return body.encode("utf-8")


def header_value(headers: HeaderList, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def encode_body(body: bytes, headers: HeaderList) -> tuple[str, bool]:
    """(body as sent in the result, isBase64Encoded)."""
    if not body:
        return "", False
    content_type = (header_value(headers, b"content-type") or b"").decode("latin-1").lower()
    encoding = header_value(headers, b"content-encoding")
    textual = content_type.startswith(_TEXT_TYPES) or content_type.split(";")[0].endswith(
        _TEXT_SUFFIXES)
    if textual and encoding in (None, b"identity"):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def headers_from(single: object, multi: object, field: str = "headers") -> HeaderList:
    """Request headers, lower-case names, repeats kept: from multiValueHeaders when the
    event has them (never joined: a joined Cookie loses cookies), else from headers."""
    out: HeaderList = []
    if isinstance(multi, dict) and multi:
        for name, values in multi.items():
            if not isinstance(values, list):
                raise EventError(f"event field 'multiValueHeaders.{name}' must be a list")
            key = str(name).lower().encode("latin-1", "replace")
            out.extend((key, str(v).encode("latin-1", "replace")) for v in values)
        return out
    if single is None:
        return out
    if not isinstance(single, dict):
        raise EventError(f"event field '{field}' must be an object")
    for name, value in single.items():
        out.append((str(name).lower().encode("latin-1", "replace"),
                    str(value).encode("latin-1", "replace")))
    return out


def grouped(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """Response headers by lower-case name, repeats in order."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return out


def host_header(headers: HeaderList) -> str | None:
    value = header_value(headers, b"host")
    return value.decode("latin-1") if value else None
