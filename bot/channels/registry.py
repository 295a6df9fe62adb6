"""The one list of channels. A channel is a class in `bot/channels/` (or `bot/sms.py`) that subclasses
`bot.channels.base.Channel`: its name, display name, limits, rates, webhook routes and lifecycle.

The app reads everything it knows about channels from here: `setup_channels` adds each channel's routes and
wires its lifecycle (in this order: opened in it, closed in reverse), the pipeline takes its limits, the
handlers' context gets the display names. Adding a channel = its module + one line below + its tests.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.base import Channel, Limits, limits_of
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_templates import ZaloTemplateChannel
from bot.sms import SmsSender

CHANNELS: tuple[type[Channel], ...] = (
    TelegramChannel,
    ZaloChannel,
    ZaloTemplateChannel,  # opened by ZaloChannel's lifecycle (same client and token store)
    SmsSender,
    ConsoleChannel,
)


def channel_names() -> list[str]:
    return [cls.channel for cls in CHANNELS]


def display_names() -> Mapping[str, str]:
    """How officers see each channel (e.g. "Kênh: Zalo" in a handoff)."""
    return {cls.channel: cls.display_name for cls in CHANNELS}


def declared_limits() -> Mapping[str, Limits]:
    return {cls.channel: limits_of(cls) for cls in CHANNELS}


__all__ = ["CHANNELS", "channel_names", "declared_limits", "display_names"]
