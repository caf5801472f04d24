"""Phase 3b: the report, downloaded streamed, refused over the size limit, checked to be
a gzip file holding a CSV with a header.

Retries are ours, not the SDK's: a conditional write retried by the SDK after a lost
answer would fail its own precondition. Server errors and unreachable endpoints are
retryable; a missing object or an invalid file is not.
"""

from __future__ import annotations

import csv
import io
import zlib
from dataclasses import dataclass
from typing import Any

from mailer.errors import StorageError

CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# A report compresses ~10-20x; more than this is a gzip bomb, not a usage report.
MAX_EXPANSION = 200
HEADER_PROBE = 64 * 1024


@dataclass(frozen=True)
class Report:
    name: str
    data: bytes  # the object as stored: what is attached
    etag: str
    header: list[str]
    text: str  # decompressed CSV, for the summary


def is_transient(exc: Exception) -> bool:
    import oci

    if isinstance(exc, oci.exceptions.ServiceError):
        return exc.status in (409, 429) or exc.status >= 500
    return True  # connection refused, timeouts, TLS, proxy: the service may come back


def download(client: Any, namespace: str, bucket: str, name: str, limit: int) -> Report:
    import oci

    try:
        response = client.get_object(namespace, bucket, name)
    except oci.exceptions.ServiceError as exc:
        if exc.status == 404:
            raise StorageError(f"object {name!r} not found in bucket {bucket!r}",
                               status=404) from None
        raise StorageError(f"cannot read {name!r}: {exc.code} (HTTP {exc.status})",
                           retryable=is_transient(exc)) from None
    except Exception as exc:
        raise StorageError(f"cannot reach Object Storage: {type(exc).__name__}",
                           retryable=True) from None
    raw = response.data.raw
    try:
        declared = response.headers.get("content-length")
        if declared is not None and int(declared) > limit:
            raise StorageError(f"{name!r} is {int(declared)} bytes; the limit is {limit}",
                               status=413)
        data = _read_limited(raw, name, limit)
    finally:
        response.data.close()
    header, text = _check_report(name, data, limit)
    return Report(name=name, data=data, etag=response.headers.get("etag", ""),
                  header=header, text=text)


def _read_limited(raw: Any, name: str, limit: int) -> bytes:
    """The body as stored (no Content-Encoding decoding: the attachment must be the
    object's exact bytes), stopping as soon as it passes the limit."""
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in raw.stream(CHUNK, decode_content=False):
            size += len(chunk)
            if size > limit:
                raise StorageError(f"{name!r} is over the {limit}-byte limit", status=413)
            parts.append(chunk)
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"download of {name!r} failed: {type(exc).__name__}",
                           retryable=True) from None
    return b"".join(parts)


def _check_report(name: str, data: bytes, limit: int) -> tuple[list[str], str]:
    if not data.startswith(GZIP_MAGIC):
        raise StorageError(f"{name!r} is not a gzip file")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text_bytes = inflater.decompress(data, limit * MAX_EXPANSION)
        if inflater.unconsumed_tail:
            raise StorageError(f"{name!r} expands beyond {MAX_EXPANSION}x its size")
        text_bytes += inflater.flush()
    except zlib.error:
        raise StorageError(f"{name!r} is not a valid gzip file") from None
    if not inflater.eof:
        raise StorageError(f"{name!r} is a truncated gzip file")
    try:
        text = text_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StorageError(f"{name!r} does not hold UTF-8 text") from None
    try:
        first = next(csv.reader(io.StringIO(text[:HEADER_PROBE])), [])
    except csv.Error:
        first = []
    header = [field.strip() for field in first]
    if len(header) < 2 or any(not field for field in header) or any(
            _is_number(field) for field in header):
        raise StorageError(f"{name!r} is not a CSV file with a header row")
    return header, text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
