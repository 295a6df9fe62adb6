"""Zalo ZBS template messages (the `zns` channel): by UID or by phone, with the OA channel's token store.

Since 2026-01-01 proactive messages from an OA go as ZBS template messages (they replaced ZNS and the UID
transaction messages). `POST {ZALO_ZNS_BASE_URL}{ZALO_TEMPLATE_PHONE_PATH}` with `phone` (84…) or
`{ZALO_TEMPLATE_UID_PATH}` with `user_id`, plus `template_id`, `template_data`, `tracking_id`, and the OA
access token in the `access_token` header. The token comes from the same `ZaloTokens` as the consultation
messages (one store, one refresh): a rejected token (-124, -216) is refreshed once and the call retried.

What Zalo's answer means for the outbox:
- -118 (no Zalo account uses this phone) → `reroute`: the notice tries SMS;
- -133 (the template's tag may go only 07:00–22:00) → retried at 07:00 local;
- -211 and the other quota codes → retried the next day at 07:00, counted (`reason="quota"`);
- a user who cannot receive (refused, inactive, unfollowed) → `blocked` on this path, the notice goes on;
- template problems → `failed` (a person fixes the template); server trouble → retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp

from bot.channels.base import Channel, SendOutcome
from bot.channels.zalo import ZaloApiError, ZaloAuthError, ZaloClient
from storage.phones import mask_phone

log = logging.getLogger(__name__)

Outcome = Literal["failed", "blocked", "retry", "reroute"]
MORNING = time(7, 0)  # when tags with sending hours may go again; also the next day's start for quota

ERRORS: dict[int, tuple[Outcome, str]] = {
    -100: ("retry", "unknown error at Zalo"),
    -108: ("failed", "bad_phone: the phone number is not valid for template messages"),
    -109: ("failed", "template_not_approved: unknown template id"),
    -111: ("failed", "template_data: the template data is empty"),
    -112: ("failed", "template_data: the template data does not fit the template"),
    -114: ("blocked", "user_cannot_receive: inactive, refused template messages or an outdated Zalo app"),
    -117: ("failed", "template_not_approved: the OA/app may not use this template"),
    -118: ("reroute", "no_zalo_account: no Zalo account uses this phone number"),
    -119: ("blocked", "user_cannot_receive: this account cannot receive template messages"),
    -124: ("retry", "access token invalid or expired (still refused after one refresh)"),
    -131: ("failed", "template_not_approved: the template is not approved"),
    -139: ("blocked", "user_cannot_receive: the user refused this kind of message"),
    -213: ("blocked", "user_cannot_receive: the user has unfollowed the OA"),
    -217: ("blocked", "user_cannot_receive: the user has blocked the OA"),
    -230: ("reroute", "outside_window: the user has not interacted in the allowed time"),
    -232: ("reroute", "outside_window: the user has not interacted with the OA"),
}
QUOTA_ERRORS = frozenset({-211, -115, -144})
HOURS_ERRORS = frozenset({-133})
RATE_ERRORS = frozenset({-32})


def next_morning(now: datetime, tz: ZoneInfo, *, next_day: bool = False) -> datetime:
    """07:00 local: today's when it is still to come (unless `next_day`), else tomorrow's."""
    local = now.astimezone(tz)
    day = local.date()
    if next_day or local.time() >= MORNING:
        day += timedelta(days=1)
    return datetime.combine(day, MORNING, tzinfo=tz)


class ZaloTemplateChannel(Channel):
    """The outbox sender of `zns` (recipient: a Zalo UID or a phone as 84…; payload["zns"]: the template).

    Opened by the Zalo channel's lifecycle (it sends on the same client, so the same token store): its own
    `lifecycle` opens nothing, and it has no webhook."""

    channel = "zns"
    display_name = "Zalo (tin mẫu ZBS)"
    per_recipient_per_second: float | None = None
    text_limit: int | None = None  # the template's fields carry the text, cut to their own limits
    button_limit = 0

    def __init__(
        self,
        client: ZaloClient,
        *,
        base_url: str,
        phone_path: str,
        uid_path: str,
        tz: ZoneInfo,
        clock: Callable[[], datetime],
        rate_per_second: float | None = 10.0,
    ) -> None:
        self.client = client
        self.phone_url = base_url.rstrip("/") + phone_path
        self.uid_url = base_url.rstrip("/") + uid_path
        self.tz = tz
        self.clock = clock
        self.rate_per_second = rate_per_second

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        zns = payload.get("zns") or {}
        template_id = zns.get("template_id")
        if not template_id:
            return SendOutcome("failed", error="template_not_approved: no template id for this message kind")
        by_uid = zns.get("by") == "uid"
        body: dict[str, Any] = {
            "template_id": str(template_id),
            "template_data": zns.get("template_data") or {},
            "tracking_id": str(zns.get("tracking_id") or "")[:48],
        }
        body["user_id" if by_uid else "phone"] = recipient
        who = f"user {recipient}" if by_uid else mask_phone(recipient)
        try:
            data = await self.client.call_url(self.uid_url if by_uid else self.phone_url, json_body=body)
        except ZaloApiError as exc:
            return self._outcome(exc, who)
        except ZaloAuthError as exc:
            return SendOutcome("retry", error=f"no usable Zalo access token: {exc}")
        except aiohttp.ClientResponseError as exc:
            return SendOutcome("retry", error=f"template API HTTP {exc.status}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendOutcome("retry", error=f"template API unreachable: {type(exc).__name__}")
        return SendOutcome.sent(str(data["msg_id"]) if data.get("msg_id") is not None else None)

    def _outcome(self, exc: ZaloApiError, who: str) -> SendOutcome:
        code = exc.code
        if code in HOURS_ERRORS:
            at = next_morning(self.clock(), self.tz)
            log.info("zalo template to %s: %s outside its sending hours, deferred to %s", who, code, at)
            return SendOutcome("retry", not_before=at, reason="sending_hours", error=f"{code} sending hours")
        if code in QUOTA_ERRORS:
            at = next_morning(self.clock(), self.tz, next_day=True)
            log.warning("zalo template to %s: quota used up (%s), deferred to %s", who, code, at)
            return SendOutcome("retry", not_before=at, reason="quota", error=f"{code} quota used up")
        if code in RATE_ERRORS:
            return SendOutcome("retry", retry_after=60.0, error=f"{code} rate limit")
        outcome, reason = ERRORS.get(code, ("failed", f"template error: {exc.message}"[:200]))
        log.warning("zalo template to %s: error %s (%s)", who, code, reason)
        return SendOutcome(outcome, retry_after=60.0 if code == -100 else None, error=f"zalo {code}: {reason}")


__all__ = ["ZaloTemplateChannel", "next_morning"]
