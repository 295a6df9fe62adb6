"""Service configuration: one pydantic-settings object read from the environment and `.env`."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/motcua.sqlite3"


class Settings(BaseSettings):
    """Every setting of the service; documented one by one in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage and state -------------------------------------------------------------------------
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    database_pool_size: int = 10
    auto_migrate: bool = True
    workers_enabled: bool = True

    # --- HTTP server -----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = 1024 * 1024
    # A request body must arrive whole within this many seconds (else 408 and the connection is closed).
    body_read_timeout_seconds: float = 30.0
    log_level: str = "INFO"

    # --- the centre ------------------------------------------------------------------------------
    timezone: str = "Asia/Ho_Chi_Minh"
    centre_name: str = "Trung tâm Phục vụ hành chính công tỉnh"
    centre_code: str = "TTHCC"
    # Unset: a start-up warning, and every sentence that would give the address is left out.
    centre_address: str = ""
    # The centre's own telephone line (answered in working hours); unset: a start-up warning.
    centre_hotline: str = ""
    # The province's line for complaints and petitions (phản ánh, kiến nghị), not the centre's own.
    provincial_hotline: str = "1022"
    portal_url: str = "https://dichvucong.gov.vn"
    # `Mon-Fri 07:30-11:30,13:30-17:00`, optionally `; Sat 07:30-11:30` for a Saturday-morning reception
    # (shown to citizens; Saturdays still do not count as working days for appointment dates).
    working_hours: str = "Mon-Fri 07:30-11:30,13:30-17:00"
    calendar_overrides_file: Path | None = None
    dossier_code_pattern: str = "{centre}-{yymmdd}-{seq:04d}"
    # The paper receipt's heading: the authority above the centre, and the place in "<place>, ngày … tháng … năm …".
    centre_authority: str = "UBND TỈNH"
    centre_place: str | None = None
    knowledge_base_path: Path | None = None

    # --- conversation ----------------------------------------------------------------------------
    max_text_chars: int = 4000
    quiet_hours: str = "21:00-07:00"
    lookup_fail_limit_per_hour: int = 10
    subscribe_token_ttl_days: int = 90
    # Key the receipt's subscribe tokens are derived from (so a dossier shows one live token); SESSION_SECRET
    # when unset. Every replica must share it.
    subscribe_token_secret: SecretStr | None = None
    rating_scale: Literal[3, 5] = 3
    rating_change_days: int = 7
    handoff_timeout_minutes: int = 30
    faq_context_minutes: float = 30.0

    # --- Telegram --------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_bot_username: str = "motcua_bot"
    officers_telegram_chat_id: int | None = None
    telegram_rate_per_second: float = 30.0
    telegram_rate_per_chat_per_second: float = 1.0

    # --- Zalo OA ---------------------------------------------------------------------------------
    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_id: str | None = None
    zalo_access_token: SecretStr | None = None
    zalo_refresh_token: SecretStr | None = None
    zalo_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_zns_base_url: str = "https://business.openapi.zalo.me"
    # Link printed on receipts to follow the OA with the subscription token; check the form against the OA docs.
    zalo_subscribe_link_template: str = "https://zalo.me/{oa_id}?ref={token}"
    zalo_rate_per_second: float = 10.0
    zns_template_receipt: str | None = None
    zns_template_status: str | None = None
    zns_template_reminder: str | None = None
    zns_template_rating: str | None = None
    zalo_template_phone_path: str = "/message/template"
    zalo_template_uid_path: str = "/message/template"
    zalo_paid_window: bool = False
    zalo_webhook_max_age_seconds: int = 86400
    zalo_oauth_redirect_url: str | None = None

    # --- outbox ----------------------------------------------------------------------------------
    outbox_max_attempts: int = 8
    outbox_batch_size: int = 50
    outbox_poll_interval_seconds: float = 0.5
    inbox_workers: int = 4
    # A claimed inbox/outbox row whose worker died is taken up again after its lease.
    inbox_lease_seconds: float = 30.0
    inbox_max_attempts: int = 5
    outbox_lease_seconds: float = 60.0
    # Retry delay: base * 2^(attempt-1) with jitter, capped.
    outbox_backoff_seconds: float = 2.0
    outbox_backoff_max_seconds: float = 900.0

    # --- scheduler -------------------------------------------------------------------------------
    scheduler_enabled: bool = True
    officer_alert_time: str = "07:30"
    officer_alert_days_ahead: int = 2
    officer_alert_send_empty: bool = False
    reminder_uncollected_days: int = 3
    retention_days: int = 30
    reminder_time: str = "09:00"
    reminder_supplement_days_before: int = 1
    housekeeping_interval_minutes: int = 60
    scheduler_lease_seconds: int = 600
    scheduler_sweep_seconds: int = 300

    # --- SMS gateway -----------------------------------------------------------------------------
    sms_gateway_url: str | None = None
    sms_gateway_method: str = "POST"
    sms_gateway_auth_header: SecretStr | None = None
    sms_gateway_body_template: str = '{{"phone": "{phone}", "text": "{text}"}}'
    sms_gateway_unicode: bool = False
    sms_gateway_timeout_seconds: float = 10.0
    sms_rate_per_second: float = 5.0
    sms_notice_kinds: str = "status,postponed,reminder"

    # --- dashboard -------------------------------------------------------------------------------
    session_secret: SecretStr | None = None
    session_cookie_secure: bool = True

    # --- API keys --------------------------------------------------------------------------------
    # Wrong keys (API or dashboard sign-in) one client may present per window before it gets 429.
    auth_fail_limit: int = 20
    auth_fail_window_seconds: int = 600
    # Proxies whose X-Forwarded-For names the client (nginx on this host by default).
    trusted_proxies: str = "127.0.0.1,::1"

    @field_validator(
        "redis_url",
        "calendar_overrides_file",
        "knowledge_base_path",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "officers_telegram_chat_id",
        "zalo_app_id",
        "zalo_app_secret",
        "zalo_oa_secret_key",
        "zalo_oa_id",
        "centre_place",
        "zalo_access_token",
        "zalo_refresh_token",
        "sms_gateway_url",
        "sms_gateway_auth_header",
        "session_secret",
        "subscribe_token_secret",
        "zns_template_receipt",
        "zns_template_status",
        "zns_template_reminder",
        "zns_template_rating",
        "zalo_oauth_redirect_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty variable in `.env` means "not configured", not an empty string."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        """Addresses or networks separated by commas or spaces; a typo stops the start, not each request."""
        for part in value.replace(",", " ").split():
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    @property
    def contact_hotline(self) -> str:
        """The number a citizen is told to call: the centre's own, else the province's line."""
        return self.centre_hotline or self.provincial_hotline

    def startup_warnings(self) -> list[str]:
        """Facts of the centre that are not configured (the replies leave the sentence out)."""
        warnings = []
        if not self.centre_address.strip():
            warnings.append("CENTRE_ADDRESS is not set: replies and receipts leave the centre's address out")
        if not self.centre_hotline.strip():
            warnings.append(
                "CENTRE_HOTLINE is not set: replies give the provincial line PROVINCIAL_HOTLINE "
                f"({self.provincial_hotline}) where a number is needed"
            )
        return warnings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def zalo_enabled(self) -> bool:
        return self.zalo_access_token is not None or self.zalo_refresh_token is not None


def field_names() -> list[str]:
    """Names of all settings as environment variables (used to check `.env.example` is complete)."""
    return [name.upper() for name in Settings.model_fields]


__all__ = ["DEFAULT_DATABASE_URL", "Settings", "field_names"]
