"""Health checks of backends and OCI's status rules for a backend and a backend set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

log = logging.getLogger("fastfn.localcloud.oci.loadbalancer")


@dataclass
class BackendState:
    """What the checker knows of one backend: its status and the run of equal results."""

    status: str = "UNKNOWN"  # OK | CRITICAL | UNKNOWN (one local LB node: no WARNING)
    last_result: str = "UNKNOWN"
    streak: int = 0


@dataclass
class Checker:
    ip: str
    port: int
    url_path: str
    return_code: int
    retries: int
    interval_s: float
    timeout_s: float
    state: BackendState = field(default_factory=BackendState)

    async def probe(self) -> str:
        """One check, named as OCI names health_check_status."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.ip, self.port), self.timeout_s)
        except TimeoutError:
            return "TIMED_OUT"
        except OSError:
            return "CONNECT_FAILED"
        try:
            writer.write(f"GET {self.url_path} HTTP/1.0\r\nHost: {self.ip}\r\n\r\n".encode())
            line = await asyncio.wait_for(reader.readline(), self.timeout_s)
        except TimeoutError:
            return "TIMED_OUT"
        except OSError:
            return "IO_ERROR"
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            return "IO_ERROR"
        return "OK" if int(parts[1]) == self.return_code else "INVALID_STATUS_CODE"

    def record(self, result: str) -> None:
        # `retries` consecutive results change the status, both failing and recovering;
        # the first result decides at once from UNKNOWN so a fresh backend is not held back.
        s = self.state
        s.streak = s.streak + 1 if result == s.last_result else 1
        s.last_result = result
        wanted = "OK" if result == "OK" else "CRITICAL"
        if s.status == "UNKNOWN" or (wanted != s.status and s.streak >= self.retries):
            s.status = wanted

    async def run(self) -> None:
        while True:
            self.record(await self.probe())
            await asyncio.sleep(self.interval_s)


def backend_set_status(statuses: Iterable[str]) -> str:
    """OCI's rule: OK all OK; WARNING half or more OK; CRITICAL fewer than half; UNKNOWN
    more than half unknown (or no backends)."""
    found = list(statuses)
    if not found:
        return "UNKNOWN"
    unknown = sum(s == "UNKNOWN" for s in found)
    ok = sum(s == "OK" for s in found)
    if unknown * 2 > len(found):
        return "UNKNOWN"
    if ok == len(found):
        return "OK"
    return "WARNING" if ok * 2 >= len(found) else "CRITICAL"
