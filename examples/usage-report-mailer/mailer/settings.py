"""Phase 3: the function's configuration, validated; a ConfigError names the key.

The seed's keys, plus optional ones with defaults (limits, the state bucket, the retry
budget, a CA file for SMTP servers with a private CA). The secret keys hold references
(`vault:<secret OCID>`; a bare secret OCID, as the seed's scripts write it, is accepted).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr

from mailer.errors import ConfigError

REQUIRED = ("BUCKET_NAME", "EMAIL_FROM", "EMAIL_TO", "NAMESPACE", "REGION", "SMTP_SERVER",
            "SMTP_PORT", "SMTP_USERNAME_SECRET_OCID", "SMTP_PASSWORD_SECRET_OCID")


@dataclass(frozen=True)
class Settings:
    bucket: str
    email_from: str
    email_to: tuple[str, ...]
    namespace: str
    region: str
    smtp_server: str
    smtp_port: int
    username_ref: str
    password_ref: str
    state_bucket: str
    max_report_bytes: int
    smtp_ca_file: str | None
    smtp_retry_budget_s: float
    smtp_timeout_s: float
    claim_lease_slack_s: float = 10.0


def _address(key: str, value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or address != address.strip() or " " in address:
        raise ConfigError(f"{key} is not an email address")
    return value.strip()


def _reference(key: str, value: str) -> str:
    value = value.strip()
    if value.startswith("ocid1.vaultsecret."):
        return f"vault:{value}"
    if value.startswith(("vault:", "env:")):
        return value
    # Not echoed: a value where a reference belongs may be the secret itself.
    raise ConfigError(f"{key} must be a secret reference (vault:<secret OCID>)")


def _number(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    missing = [key for key in REQUIRED if not env.get(key, "").strip()]
    if missing:
        raise ConfigError(f"missing configuration: {', '.join(missing)}")
    port = env["SMTP_PORT"].strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"SMTP_PORT must be a port number, got {port!r}")
    recipients = tuple(_address("EMAIL_TO", part) for part in env["EMAIL_TO"].split(",")
                       if part.strip())
    if not recipients:
        raise ConfigError("EMAIL_TO holds no address")
    bucket = env["BUCKET_NAME"].strip()
    return Settings(
        bucket=bucket,
        email_from=_address("EMAIL_FROM", env["EMAIL_FROM"]),
        email_to=recipients,
        namespace=env["NAMESPACE"].strip(),
        region=env["REGION"].strip(),
        smtp_server=env["SMTP_SERVER"].strip(),
        smtp_port=int(port),
        username_ref=_reference("SMTP_USERNAME_SECRET_OCID", env["SMTP_USERNAME_SECRET_OCID"]),
        password_ref=_reference("SMTP_PASSWORD_SECRET_OCID", env["SMTP_PASSWORD_SECRET_OCID"]),
        # Markers live outside the report bucket: writing them there would fire the
        # upload rule for every marker.
        state_bucket=env.get("STATE_BUCKET", "").strip() or f"{bucket}-mailer-state",
        # OCI Email Delivery refuses large messages; base64 adds a third on top of this.
        max_report_bytes=int(_number(env, "MAX_REPORT_BYTES", 10 * 1024 * 1024, 1,
                                     50 * 1024 * 1024)),
        smtp_ca_file=env.get("SMTP_CA_FILE", "").strip() or None,
        smtp_retry_budget_s=_number(env, "SMTP_RETRY_BUDGET_S", 20.0, 0, 300),
        smtp_timeout_s=_number(env, "SMTP_TIMEOUT_S", 10.0, 0.1, 120),
        # How long a claim outlives its claimant's deadline (see claims.py).
        claim_lease_slack_s=_number(env, "CLAIM_LEASE_SLACK_S", 10.0, 1, 600),
    )
