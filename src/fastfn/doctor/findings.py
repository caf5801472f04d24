"""What every check returns, whatever the platform: findings, and a report of them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["ok", "warn", "fail", "skip"]
ORDER: dict[str, int] = {"fail": 0, "warn": 1, "skip": 2, "ok": 3}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str  # e.g. "network.route"
    status: Status
    cause: str  # what was found (for ok: what was verified)
    fix: str = ""  # the exact change: a policy statement, a CLI command, a manifest key


class Report(BaseModel):
    target: dict[str, str]  # what was examined: function id, region, endpoint...
    findings: list[Finding]

    @property
    def failed(self) -> bool:
        return any(f.status == "fail" for f in self.findings)

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: ORDER[f.status])


def ok(check: str, cause: str) -> Finding:
    return Finding(check=check, status="ok", cause=cause)


def warn(check: str, cause: str, fix: str = "") -> Finding:
    return Finding(check=check, status="warn", cause=cause, fix=fix)


def fail(check: str, cause: str, fix: str = "") -> Finding:
    return Finding(check=check, status="fail", cause=cause, fix=fix)


def skip(check: str, cause: str, fix: str = "") -> Finding:
    return Finding(check=check, status="skip", cause=cause, fix=fix)
