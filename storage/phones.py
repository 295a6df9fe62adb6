"""Vietnamese phone numbers: normalise what people type, mask for logs and unlinked chats."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D+")


def normalise_phone(text: str | None) -> str | None:
    """'+84 912 345 678', '84912345678', '0912.345.678' → '0912345678'; None when not a VN number."""
    if not text:
        return None
    raw = text.strip()
    digits = _DIGITS.sub("", raw)
    if digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif len(digits) == 9 and not digits.startswith("0"):
        digits = "0" + digits
    if re.fullmatch(r"0[35789]\d{8}", digits) or re.fullmatch(r"02\d{9}", digits):
        return digits
    return None


def to_international(phone: str) -> str:
    """'0912345678' → '84912345678' (the form Zalo ZNS and SMS gateways want)."""
    local = normalise_phone(phone)
    if local is None:
        raise ValueError("not a Vietnamese phone number")
    return "84" + local[1:]


def mask_phone(phone: str | None) -> str:
    """'0912345678' → '091****678'."""
    if not phone:
        return ""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]
