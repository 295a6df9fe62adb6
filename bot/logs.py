"""Logging that keeps personal data and secrets out: third-party loggers that dump payloads are held back.

At DEBUG, aiosqlite logs every statement with its parameters (names, phones, ID numbers), and
python-telegram-bot logs every Bot API call with its parameters (the text sent to a citizen); at INFO, httpx
logs request URLs, which for the Bot API contain the bot token. Our own modules log identifiers (dossier
codes, row ids), never the data. `LOG_LEVEL=DEBUG` therefore debugs our code, not theirs.
"""

from __future__ import annotations

import logging

# Logger name -> the lowest level at which it says nothing personal or secret.
PAYLOAD_LOGGERS: dict[str, int] = {
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.INFO,
    "hpack": logging.INFO,
    "apscheduler": logging.INFO,
}


def hold_back_payload_loggers() -> None:
    """Raise the level of the loggers in `PAYLOAD_LOGGERS` (never lowers one that is already higher)."""
    for name, level in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level < level:
            logger.setLevel(level)


__all__ = ["PAYLOAD_LOGGERS", "hold_back_payload_loggers"]
