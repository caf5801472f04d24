"""Object bytes on disk: one immutable file per object version or upload part.

A file is written to a temp name and renamed into place, so a reader never sees half of
it; a reader that opened a file keeps reading it after it is unlinked (POSIX keeps open
files alive), so a concurrent GET never sees a mix of two versions. Copies are hard links.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fastfn.localcloud.oci.core.errors import OCIError, invalid
from fastfn.localcloud.oci.objectstorage.models import CHUNK


@dataclass(frozen=True)
class Written:
    blob: str
    size: int
    md5: str  # base64, as OCI reports it
    md5_raw: bytes


class Blobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, blob: str) -> Path:
        return self.root / blob

    async def write(self, chunks: AsyncIterable[bytes], declared: int | None,
                    content_md5: str | None) -> Written:
        """Store a body; refuse it (leaving nothing behind) if its length or MD5 differs
        from what the client declared."""
        blob = uuid.uuid4().hex
        tmp = self.root / f".{blob}.part"
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with open(tmp, "wb") as out:
                async for chunk in chunks:
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if declared is not None and declared != size:
                raise invalid(f"Content-Length {declared} does not match the {size} bytes "
                              "received.")
            digest = base64.b64encode(md5.digest()).decode()
            if content_md5 is not None and content_md5.strip() != digest:
                raise OCIError(400, "UnmatchedContentMD5",
                               "The computed MD5 of the request body does not match the "
                               "Content-MD5 header.")
            os.replace(tmp, self.root / blob)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return Written(blob, size, digest, md5.digest())

    def concat(self, blobs: Iterable[str]) -> Written:
        """A new blob holding the given blobs one after the other (a multipart commit)."""
        blob = uuid.uuid4().hex
        tmp = self.root / f".{blob}.part"
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with open(tmp, "wb") as out:
                for part in blobs:
                    with open(self.root / part, "rb") as src:
                        while chunk := src.read(CHUNK):
                            md5.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
            os.replace(tmp, self.root / blob)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return Written(blob, size, base64.b64encode(md5.digest()).decode(), md5.digest())

    def copy(self, blob: str) -> str:
        """A new name for the same bytes (hard link; a plain copy where links fail)."""
        new = uuid.uuid4().hex
        try:
            os.link(self.root / blob, self.root / new)
        except OSError:
            shutil.copyfile(self.root / blob, self.root / new)
        return new

    def open(self, blob: str) -> IO[bytes]:
        try:
            return open(self.root / blob, "rb")
        except FileNotFoundError:
            # Replaced between the metadata read and the open: the caller retries.
            raise OCIError(409, "ConcurrentObjectUpdate",
                           "The object was modified during the request.") from None

    def remove(self, *blobs: str) -> None:
        for blob in blobs:
            (self.root / blob).unlink(missing_ok=True)


def multipart_md5(part_md5s: Iterable[bytes]) -> str:
    """OCI's ETag-like digest of a multipart object: the MD5 of the parts' MD5s, base64,
    then '-' and the number of parts."""
    raw = list(part_md5s)
    digest = hashlib.md5(b"".join(raw), usedforsecurity=False).digest()
    return f"{base64.b64encode(digest).decode()}-{len(raw)}"


async def read_range(handle: IO[bytes], start: int, stop: int) -> AsyncIterator[bytes]:
    try:
        handle.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
