"""The mailer's SMTP client on its own, against real servers: the overall deadline holds
against a server that trickles its replies, and DATA's dot-stuffing is smtplib's."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import smtplib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastfn.runtime.secrets import Secret

from support.mailer import EXAMPLE, PASSWORD, USER, SMTPServer

sys.path.insert(0, str(EXAMPLE))
from mailer import smtp
from mailer.errors import SMTPError
from mailer.settings import Settings

BASE = Settings(bucket="b", email_from="reports@example.com",
                email_to=("ops@example.com",), namespace="n", region="r",
                smtp_server="127.0.0.1", smtp_port=0, username_ref="env:U",
                password_ref="env:P", state_bucket="s", max_report_bytes=1 << 20,
                smtp_ca_file=None, smtp_retry_budget_s=20, smtp_timeout_s=1.0)


@pytest.fixture
def trickling() -> Iterator[tuple[int, list[float]]]:
    """A TCP server that answers every connection with a banner one byte per 0.2 s (12 s
    for the whole line): each read gets a byte well within the socket timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    connected: list[float] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            for byte in (b"220 " + b"x" * 56 + b"\r\n"):
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connected.append(time.monotonic())
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port, connected
    stop.set()
    thread.join(5)
    listener.close()


def test_a_trickling_server_cannot_hold_the_exchange_past_its_deadline(
        trickling: tuple[int, list[float]]) -> None:
    port, connected = trickling
    settings = dataclasses.replace(BASE, smtp_port=port)
    budget = 1.5
    started = time.monotonic()
    with pytest.raises(SMTPError) as raised:
        asyncio.run(smtp.send(settings, b"Subject: x\r\n\r\nbody\r\n", Secret("u"),
                              Secret("p"), budget))
    took = time.monotonic() - started
    assert "deadline" in raised.value.message
    assert raised.value.retryable  # the event is redelivered, not dropped
    assert connected, "the client never reached the server"
    # Without the deadline every read gets a byte in 0.2 s < the 1 s timeout: it would
    # wait for the whole 62-byte banner (12 s). Generous bound for a loaded machine.
    assert took < budget + 5, took


def test_the_deadline_also_bounds_a_session_opened_ahead(
        trickling: tuple[int, list[float]]) -> None:
    port, _ = trickling
    settings = dataclasses.replace(BASE, smtp_port=port)

    async def run() -> None:
        outbox = smtp.Outbox(settings, Secret("u"), Secret("p"), 1.0)
        try:
            await outbox.send(b"Subject: x\r\n\r\nbody\r\n")
        finally:
            await outbox.aclose()

    started = time.monotonic()
    with pytest.raises(SMTPError, match="deadline"):
        asyncio.run(run())
    assert time.monotonic() - started < 6


@pytest.mark.parametrize("seed", range(5))
def test_dot_stuffing_matches_smtplib(seed: int) -> None:
    rng = random.Random(seed)
    lines = [rng.choice([b".", b"..", b"a.b", b"", b".x", b"x\n.y", b"\r.", b"z"])
             for _ in range(200)]
    message = b"\r\n".join(lines)
    sent: list[bytes] = []

    class Recorder(smtp._SMTP):
        def putcmd(self, cmd: str, args: str = "") -> None:
            pass

        def getreply(self) -> tuple[int, bytes]:
            return (354, b"go") if not sent else (250, b"ok")

        def send(self, s: bytes | str) -> None:  # type: ignore[override]
            sent.append(s if isinstance(s, bytes) else s.encode())

    Recorder().data(message)
    expected = smtplib._quote_periods(message)
    if expected[-2:] != b"\r\n":
        expected += b"\r\n"
    assert sent == [expected + b".\r\n"]


def test_lines_starting_with_a_dot_arrive_intact(tmp_path: Path) -> None:
    body = b"..\r\n.hidden\r\nplain\r\n.\r\n"
    message = b"From: reports@example.com\r\nTo: ops@example.com\r\nSubject: dots\r\n\r\n" + body
    with SMTPServer(tmp_path, user=USER, password=PASSWORD) as server:
        settings = dataclasses.replace(BASE, smtp_port=server.port,
                                       smtp_ca_file=str(server.cert))
        refused = asyncio.run(smtp.send(settings, message, Secret(USER), Secret(PASSWORD), 10))
        received = server.wait_for(1, timeout=30)[0]
    assert refused == {}
    assert received.tls and received.authenticated
    assert received.content.endswith(body)


class SwallowedReply:
    """The server's first DATA: stored (accepted) and its 250 never sent, until `over`."""

    def __init__(self, server: SMTPServer) -> None:
        self.original = server.handler.handle_DATA
        self.over = threading.Event()
        self.swallowed = 0
        server.handler.handle_DATA = self.handle_DATA

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        reply = str(await self.original(server, session, envelope))
        if self.swallowed == 0:
            self.swallowed += 1
            while not self.over.is_set():
                await asyncio.sleep(0.05)
        return reply


PLAIN = b"From: reports@example.com\r\nTo: ops@example.com\r\nSubject: x\r\n\r\nbody\r\n"


def send_unanswered(server: SMTPServer, timeout_s: float, budget_s: float) -> SMTPError:
    """Send PLAIN to `server` while it withholds its reply to the first end of DATA
    (SwallowedReply); the error the send raised."""
    swallowing = SwallowedReply(server)
    settings = dataclasses.replace(BASE, smtp_port=server.port,
                                   smtp_ca_file=str(server.cert), smtp_timeout_s=timeout_s)
    try:
        with pytest.raises(SMTPError) as raised:
            asyncio.run(smtp.send(settings, PLAIN, Secret(USER), Secret(PASSWORD), budget_s))
    finally:
        swallowing.over.set()
    return raised.value


def test_no_answer_to_the_end_of_data_is_not_retried(tmp_path: Path) -> None:
    with SMTPServer(tmp_path, user=USER, password=PASSWORD) as server:
        # A budget with room for several more attempts: none may be made.
        error = send_unanswered(server, timeout_s=1.0, budget_s=8)
        assert error.outcome_unknown and error.retryable
        assert "may have been accepted" in error.message
        assert len(server.messages) == 1


def test_the_deadline_after_the_end_of_data_is_an_unknown_outcome(tmp_path: Path) -> None:
    with SMTPServer(tmp_path, user=USER, password=PASSWORD) as server:
        started = time.monotonic()
        # Each read may wait 30 s: the overall deadline (2 s) is what ends the wait.
        error = send_unanswered(server, timeout_s=30.0, budget_s=2)
        assert time.monotonic() - started < 12
        assert error.outcome_unknown
        assert "deadline" in error.message
        assert len(server.messages) == 1


def test_a_refusal_after_the_end_of_data_is_a_known_outcome(tmp_path: Path) -> None:
    """A 451 to the end of DATA is an answer: retried at once on a fresh connection."""
    with SMTPServer(tmp_path, user=USER, password=PASSWORD) as server:
        server.handler.transient_failures = 1
        settings = dataclasses.replace(BASE, smtp_port=server.port,
                                       smtp_ca_file=str(server.cert))
        refused = asyncio.run(smtp.send(settings, PLAIN, Secret(USER), Secret(PASSWORD), 10))
        assert refused == {}
        assert len(server.wait_for(1, timeout=30)) == 1
