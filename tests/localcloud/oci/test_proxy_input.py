"""The CONNECT proxy answers malformed and oversized requests, without a traceback."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fastfn.localcloud.oci import LocalCloud


def raw_exchange(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"CONNECT\r\n\r\n", b"400"),
    (b"CONNECT  HTTP/1.1\r\n\r\n", b"400"),
    (b"GARBAGE\r\n\r\n", b"400"),
    (b"CONNECT objectstorage.eu-frankfurt-1.oraclecloud.com:443 HTTP/1.1\r\nX: "
     + b"a" * 70_000 + b"\r\n\r\n", b"431"),
    (b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", b"403"),
    (b"GET / HTTP/1.1\r\n\r\n", b"405"),
])
def test_bad_requests_get_an_answer_and_no_traceback(tmp_path: Path, caplog, request_bytes,
                                                     status) -> None:
    with LocalCloud(tmp_path / "cloud") as cloud, caplog.at_level(logging.DEBUG):
        proxy = urlsplit(cloud.proxy_env()["HTTPS_PROXY"])
        answer = raw_exchange((proxy.hostname, proxy.port), request_bytes)
    assert answer.split(b" ", 2)[1] == status
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
