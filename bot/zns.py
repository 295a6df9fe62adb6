"""Zalo Notification Service (ZNS): template messages to a phone number, for applicants with no linked chat.

`POST {ZALO_ZNS_BASE_URL}/message/template` with the OA access token in the `access_token` header and
`{"phone": "84…", "template_id", "template_data", "tracking_id"}`; Zalo answers HTTP 200 with `error` = 0 or
a negative code. Codes that will not get better by retrying (bad phone, a user who cannot receive ZNS, quota
exhausted, a template that is not approved) end as failed/blocked at once — no retry loop; server trouble
and an expired token are retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp

from bot.channels.base import SendOutcome
from storage.phones import mask_phone

log = logging.getLogger(__name__)
TokenSource = Callable[[], Awaitable[str | None]]
Outcome = Literal["failed", "blocked", "retry"]

# ZNS error codes (zalo.cloud "Cách xử lý mã lỗi") and what the outbox does about them.
ZNS_ERRORS: dict[int, tuple[Outcome, str]] = {
    -100: ("retry", "unknown error at Zalo"),
    -108: ("failed", "bad_phone: the phone number is not valid for ZNS"),
    -109: ("failed", "template_not_approved: unknown template id"),
    -111: ("failed", "template_data: the template data is empty"),
    -112: ("failed", "template_data: the template data does not fit the template"),
    -114: ("blocked", "user_cannot_receive: inactive, refused ZNS or an outdated Zalo app"),
    -115: ("failed", "quota_exhausted: the ZNS balance is exhausted"),
    -117: ("failed", "template_not_approved: the OA/app may not use this template"),
    -118: ("blocked", "user_cannot_receive: no Zalo account uses this phone number"),
    -119: ("blocked", "user_cannot_receive: this account cannot receive ZNS"),
    -124: ("retry", "access token invalid or expired (refreshed by the Zalo channel)"),
    -131: ("failed", "template_not_approved: the template is not approved"),
    -139: ("blocked", "user_cannot_receive: the user refused this kind of ZNS"),
    -144: ("failed", "quota_exhausted: the OA's daily ZNS quota is used up"),
}
RETRY_AFTER = {-100: 60.0, -124: 120.0}


class ZnsSender:
    """The outbox sender of the `zns` channel (recipient: the phone as 84…, payload["zns"]: the template)."""

    channel = "zns"
    per_recipient_per_second: float | None = None

    def __init__(
        self,
        base_url: str,
        token_source: TokenSource,
        *,
        rate_per_second: float | None = 10.0,
        timeout_seconds: float = 15.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/message/template"
        self.token_source = token_source
        self.rate_per_second = rate_per_second
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        """Send one template message; map Zalo's answer to an outcome for the outbox."""
        zns = payload.get("zns") or {}
        template_id = zns.get("template_id")
        if not template_id:
            return SendOutcome("failed", error="template_not_approved: no ZNS template id for this message kind")
        token = await self.token_source()
        if not token:
            return SendOutcome("failed", error="ZNS is not configured: no Zalo OA access token")
        body = {
            "phone": recipient,
            "template_id": str(template_id),
            "template_data": zns.get("template_data") or {},
            "tracking_id": str(zns.get("tracking_id") or "")[:48],
        }
        try:
            async with self._client().post(self.url, json=body, headers={"access_token": token}) as response:
                if response.status == 429 or response.status >= 500:
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    return SendOutcome("retry", retry_after=retry_after, error=f"ZNS HTTP {response.status}")
                if response.status != 200:
                    return SendOutcome("failed", error=f"ZNS HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return SendOutcome("retry", error=f"ZNS unreachable: {type(exc).__name__}")
        if not isinstance(answer, dict):
            return SendOutcome("retry", error="ZNS answered something that is not a JSON object")
        code = int(answer.get("error", -100))
        if code == 0:
            data = answer.get("data") or {}
            return SendOutcome.sent(str(data.get("msg_id")) if data.get("msg_id") is not None else None)
        outcome, reason = ZNS_ERRORS.get(code, ("failed", f"ZNS error: {answer.get('message', '')}"[:200]))
        log.warning("ZNS to %s: error %s (%s)", mask_phone(recipient), code, reason)
        return SendOutcome(outcome, retry_after=RETRY_AFTER.get(code), error=f"{code} {reason}")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
