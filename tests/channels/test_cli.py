"""`motcua chat` and `motcua telegram …` against real resources (and the fake Bot API)."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.chat import chat
from bot.cli.telegram import CommandError, delete_webhook, set_webhook, webhook_info
from bot.settings import Settings
from tests.fakes import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


class Lines(io.StringIO):
    """Scripted terminal input (not a TTY: no prompts)."""


async def test_chat_answers_through_the_pipeline_with_numbered_choices(make_settings: Callable[..., Settings]) -> None:
    out = io.StringIO()
    stdin = Lines("le phi ly lich tu phap\n2\n\n/quit\nnever read\n")
    assert await chat(make_settings(), stdin, out) == 0
    text = out.getvalue()
    assert "Xin chào Ông/Bà! Tôi là trợ lý tự động" in text  # the welcome first
    assert "  [1] Giờ làm việc" in text
    assert "> le phi ly lich tu phap" in text and "200.000 đồng" in text
    fee_answer = text.split("> le phi ly lich tu phap", 1)[1].split("> 2", 1)[0]
    second = [line for line in fee_answer.splitlines() if line.startswith("  [2] ")][0]
    after = text.split("> 2", 1)[1]
    assert second.endswith("Thời hạn") and "Thời hạn giải quyết" in after  # "2" pressed the second button
    assert "never read" not in text


async def test_chat_needs_no_platform_token_even_when_one_is_configured(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(telegram_bot_token="123:unreachable", telegram_api_base_url="http://127.0.0.1:9/bot")
    out = io.StringIO()
    assert await chat(settings, Lines("/help\n"), out) == 0
    assert "Cách hỏi trợ lý" in out.getvalue()


def test_motcua_chat_runs_on_the_embedded_defaults(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "TELEGRAM_", "ZALO_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="giờ làm việc\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        encoding="utf-8",
    )
    assert result.returncode == 0, result.stderr
    assert "Thứ Hai – Thứ Sáu" in result.stdout
    assert (tmp_path / "var" / "motcua.sqlite3").exists()  # the embedded SQLite default


async def test_set_webhook_registers_url_secret_and_allowed_updates(
    make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    settings = make_settings(**fake_telegram.settings(), public_base_url="https://bot.example.gov.vn/")
    args = argparse.Namespace(drop_pending_updates=True, max_connections=20, allow_http=False)
    result = await set_webhook(settings, args)
    assert result["url"] == "https://bot.example.gov.vn/webhooks/telegram"
    assert fake_telegram.webhook == {
        "url": "https://bot.example.gov.vn/webhooks/telegram",
        "secret_token": "webhook-secret",
        "allowed_updates": ["message", "callback_query", "my_chat_member"],
        "max_connections": "20",
    }
    info = await webhook_info(settings)
    assert info["url"] == "https://bot.example.gov.vn/webhooks/telegram"
    assert info["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    assert (await delete_webhook(settings, argparse.Namespace(drop_pending_updates=False)))["ok"] is True
    assert fake_telegram.webhook == {}


async def test_set_webhook_refuses_plain_http_and_a_missing_secret(
    make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    args = argparse.Namespace(drop_pending_updates=False, max_connections=40, allow_http=False)
    plain = make_settings(**fake_telegram.settings(), public_base_url="http://127.0.0.1:8080")
    with pytest.raises(CommandError, match="https"):
        await set_webhook(plain, args)
    no_secret = make_settings(
        **{**fake_telegram.settings(), "telegram_webhook_secret": None}, public_base_url="https://x.vn"
    )
    with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET"):
        await set_webhook(no_secret, args)
    local = argparse.Namespace(drop_pending_updates=False, max_connections=40, allow_http=True)
    assert (await set_webhook(plain, local))["url"] == "http://127.0.0.1:8080/webhooks/telegram"
    assert [c.path for c in fake_telegram.calls].count("setWebhook") == 1


def test_telegram_commands_without_a_token_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    assert main(["telegram", "webhook-info"]) == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err
