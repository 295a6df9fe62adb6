"""Channels: platform adapters (Telegram, Zalo, console) and other senders (ZNS, SMS) behind one protocol."""
