"""An HTTPS CONNECT proxy that answers for OCI's host names from the local cloud.

Why: the oci SDK derives `https://<service>.<region>.oraclecloud.com` from the region
(oci/regions.py `_endpoint`, oci/base_client.py `get_endpoint`) and has no variable to
override it; a client built from a resource principal signer cannot be pointed anywhere
else without code. The SDK's vendored requests does honour HTTPS_PROXY and
REQUESTS_CA_BUNDLE (BaseClient calls `session.request` without `verify`/`proxies`, so
requests merges them from the environment). So: a proxy on loopback accepts CONNECT to
OCI host names only, terminates TLS with a certificate for that name issued by a local CA,
and relays the plain HTTP to the local cloud's server. Host headers, and so signatures,
are untouched. Anything that is not an OCI host name is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fastfn.localcloud.oci.core.auth import load_or_create_key
from fastfn.localcloud.oci.core.files import create_once, replace_atomically
from fastfn.localcloud.oci.core.layout import StateLayout

log = logging.getLogger("fastfn.localcloud.oci.proxy")

OCI_DOMAINS = ("oraclecloud.com", "oci.customer-oci.com", "oraclegovcloud.com")
MAX_HEADER_BYTES = 16 * 1024


def is_oci_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in OCI_DOMAINS)


class LocalCA:
    """A certificate authority kept in the state dir; issues a certificate per host."""

    def __init__(self, layout: StateLayout) -> None:
        self.layout = layout
        self.key = load_or_create_key(layout.ca_key)
        cert_path = layout.ca_cert
        if cert_path.exists():
            pem = cert_path.read_bytes()
        else:
            # Another process may be creating the CA too: the first one written wins.
            pem = create_once(cert_path, self._self_signed().public_bytes(
                serialization.Encoding.PEM), 0o644)
        self.cert = x509.load_pem_x509_certificate(pem)
        self.cert_path = cert_path
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _self_signed(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fastfn local cloud CA")])
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        public = self.key.public_key()
        return (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def bundle(self) -> Path:
        """CA file for REQUESTS_CA_BUNDLE: our CA plus the usual public roots, so other
        HTTPS keeps working for whoever sets it."""
        path = self.layout.ca_bundle
        ours = self.cert.public_bytes(serialization.Encoding.PEM)
        public = b""
        with contextlib.suppress(ImportError, OSError):
            import certifi

            public = Path(certifi.where()).read_bytes()
        content = ours + b"\n" + public
        if not path.exists() or path.read_bytes() != content:
            replace_atomically(path, content, 0o644)
        return path

    def context_for(self, host: str) -> ssl.SSLContext:
        context = self._contexts.get(host)
        if context is None:
            context = self._contexts[host] = self._make_context(host)
        return context

    def _make_context(self, host: str) -> ssl.SSLContext:
        assert isinstance(self.key, rsa.RSAPrivateKey)
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject).public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        # ssl wants files; they hold only this throwaway leaf key, and go at once.
        with tempfile.TemporaryDirectory(prefix="fastfn-tls-") as tmp:
            cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            key_file.write_bytes(self._leaf_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_file, key_file)
        return context


class ConnectProxy:
    def __init__(self, ca: LocalCA, upstream_host: str, upstream_port: int) -> None:
        self.ca = ca
        self.upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        _no_delay(writer)
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # Only aclose() cancels these; ending quietly spares asyncio's stream
            # callback from reporting the cancellation as an error.
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()

    def accepted_sockets(self) -> list[socket.socket]:
        """The server side of the connections open now (to check their options)."""
        found = [w.get_extra_info("socket") for w in list(self._connections.values())]
        return [s for s in found if s is not None]

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.LimitOverrunError, ValueError):
            # A head larger than the stream's buffer: answered, not a traceback.
            writer.write(_HEAD_TOO_LARGE)
            return
        if len(head) > MAX_HEADER_BYTES:
            writer.write(_HEAD_TOO_LARGE)
            return
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(parts) != 3 or not parts[1]:
            writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            return
        method, target, _ = parts
        if method.upper() != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        if not is_oci_host(host) or port != "443":
            log.info("proxy refused", extra={"target": target})
            writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(self.ca.context_for(host))
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        _no_delay(up_writer)
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            up_writer.close()


_HEAD_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                   b"content-length: 0\r\n\r\n")


def _no_delay(writer: asyncio.StreamWriter) -> None:
    # Relayed responses arrive in pieces; without this each waits for a delayed ACK.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(256 * 1024):
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()
