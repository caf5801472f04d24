"""A local SMTP server for trying the mailer: aiosmtpd with STARTTLS (a self-signed
certificate made at start, for 127.0.0.1 and localhost) and AUTH, refusing AUTH before
STARTTLS, as OCI Email Delivery does. Used by demo.py, the tests and the bench; not by
the function.

    with SMTPServer(Path("/tmp/smtp"), user="u", password="p") as smtp:
        config = smtp.config()      # SMTP_SERVER, SMTP_PORT, SMTP_CA_FILE for the function
        smtp.wait_for(1)[0].message()
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key; the cert is its own CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fastfn test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool
    at: float  # time.perf_counter() when the server accepted the message

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    transient_failures: int = 0  # answer DATA with 451 this many times first
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.transient_failures > 0:
            self.transient_failures -= 1
            return "451 4.3.0 try again later"
        with self.arrived:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content,
                                          session.ssl is not None, session.authenticated,
                                          time.perf_counter()))
            self.arrived.notify_all()
        return "250 2.0.0 accepted"


class SMTPServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required before anything, AUTH PLAIN/LOGIN."""

    def __init__(self, directory: Path, user: str, password: str, *,
                 plaintext: bool = False) -> None:
        """`plaintext=True`: a careless server for tests, offering AUTH without STARTTLS
        (and no STARTTLS at all), to show that the client never takes it up."""
        self.cert, key = self_signed(directory)
        self.port = free_port()
        self.user, self.password = user, password
        self.handler = _Handler()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port,
            tls_context=None if plaintext else context, require_starttls=not plaintext,
            auth_required=True, auth_require_tls=not plaintext,
            authenticator=self._authenticate, ready_timeout=10)
        self.auth_attempts = 0
        self.auth_failed_sessions: set[int] = set()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        self.auth_attempts += 1
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user.encode()
              and auth_data.password == self.password.encode())
        if not ok:
            # Per session: smtplib's login() tries each offered mechanism (PLAIN, LOGIN).
            self.auth_failed_sessions.add(id(session))
            # handled=False: aiosmtpd answers 535 itself; True leaves the client hanging.
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self.handler.arrived:
            self.handler.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        assert len(self.messages) >= count, f"{len(self.messages)} message(s), wanted {count}"
        return list(self.messages)

    def start(self) -> SMTPServer:
        # aiosmtpd warns at every successful AUTH that it still fills a deprecated field.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config(self) -> dict[str, str]:
        """Function config pointing the mailer at this server."""
        return {"SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(self.port),
                "SMTP_CA_FILE": str(self.cert)}
