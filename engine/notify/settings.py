"""Notification settings from the environment (the admin settings page shows them)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # Retries: attempt n (n >= 1) failed -> the next is due after d = min(max, base * 2**(n-1))
    # seconds, jittered to a uniform draw in [d/2, d] (so receivers recovering from an outage
    # are not hit by every retry at once). Tests and local journeys set base to a few ms.
    backoff_base: float = Field(default=30.0, alias="SANCTIONS_NOTIFY_BACKOFF_BASE")
    backoff_max: float = Field(default=6 * 3600.0, alias="SANCTIONS_NOTIFY_BACKOFF_MAX")
    max_attempts: int = Field(default=8, ge=1, le=50, alias="SANCTIONS_NOTIFY_MAX_ATTEMPTS")
    timeout: float = Field(default=10.0, gt=0, alias="SANCTIONS_NOTIFY_TIMEOUT")  # per attempt
    # attempts a dispatcher pass makes at once (threads), so a receiver that times out does not
    # hold up the others
    concurrency: int = Field(default=4, ge=1, le=32, alias="SANCTIONS_NOTIFY_CONCURRENCY")
    # Dispatcher thread in every worker's main process: seconds between passes (0 = off).
    interval: float = Field(default=5.0, ge=0, alias="SANCTIONS_NOTIFY_INTERVAL")
    # Links in messages (https://desk.example.org); unset: paths only.
    public_url: str | None = Field(default=None, alias="SANCTIONS_PUBLIC_URL")
    # Plain http to a non-loopback host is refused unless this is set (an intranet receiver).
    allow_http: bool = Field(default=False, alias="SANCTIONS_WEBHOOK_ALLOW_HTTP")

    # E-mail: off while no host is set.
    smtp_host: str | None = Field(default=None, alias="SANCTIONS_SMTP_HOST")
    smtp_port: int = Field(default=25, alias="SANCTIONS_SMTP_PORT")
    smtp_from: str = Field(default="sanctions-desk@localhost", alias="SANCTIONS_SMTP_FROM")
    smtp_starttls: bool = Field(default=False, alias="SANCTIONS_SMTP_STARTTLS")
    smtp_user: str | None = Field(default=None, alias="SANCTIONS_SMTP_USER")
    smtp_password: str | None = Field(default=None, alias="SANCTIONS_SMTP_PASSWORD")
