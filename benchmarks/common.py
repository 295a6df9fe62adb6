"""What the benchmarks share: loopback ports, percentiles, the citizen questions and Telegram updates they send.
(Scratch databases are made with `storage.db.run_on_server`, as the tests make theirs.)"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from typing import Any

# Mixed, as citizens write: with and without diacritics, a greeting and a command.
QUESTIONS = [
    "le phi ly lich tu phap bao nhieu",
    "đăng ký khai sinh cần giấy tờ gì",
    "giờ làm việc của trung tâm",
    "doi bang lai xe mat bao lau",
    "cấp hộ chiếu nộp ở đâu",
    "thủ tục đăng ký kết hôn",
    "xin chào",
    "/help",
]


def message_update(update_id: int, chat_id: int, text: str, first_name: str = "B") -> dict[str, Any]:
    """A Telegram update: a private text message from `chat_id` (the chat is the user)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "vi"},
            "text": text,
        },
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`, in any order; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]
