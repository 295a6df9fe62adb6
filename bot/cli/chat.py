"""`motcua chat`: talk to the bot in the terminal through the same pipeline; no platform token needed.

Buttons are shown as numbered choices: type the number to press one. `/quit` (or end of input) leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TextIO

from bot import keys
from bot.channels.console import render_reply
from bot.inbox import PIPELINE
from bot.pipeline import Pipeline
from bot.runtime import open_app
from bot.settings import Settings
from handlers.base import Button, IncomingMessage, MessageKind, Reply
from storage.contacts import upsert_contact
from storage.db import SessionMaker
from storage.models import utcnow

log = logging.getLogger(__name__)

QUIT_WORDS = frozenset({"/quit", "/exit", "/thoat", "thoát", "quit", "exit"})
BANNER = "Trò chuyện với trợ lý (gõ số để bấm nút, /quit để thoát).\n"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("chat", help="talk to the bot in the terminal (no platform token needed)")
    parser.add_argument("--chat-id", default="terminal", help="the console chat id (default: terminal)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(chat(settings, sys.stdin, sys.stdout, chat_id=args.chat_id))


def terminal_settings(settings: Settings) -> Settings:
    """The settings without platforms: the terminal needs no token and must not call Telegram or Zalo."""
    return settings.model_copy(
        update={
            "telegram_bot_token": None,
            "zalo_access_token": None,
            "zalo_refresh_token": None,
            "zalo_app_id": None,
            "workers_enabled": False,
            "scheduler_enabled": False,
        }
    )


class ChatSession:
    """One terminal conversation: sends lines through the pipeline and prints the replies."""

    def __init__(self, pipeline: Pipeline, sessionmaker: SessionMaker, out: TextIO, chat_id: str = "terminal") -> None:
        self.pipeline = pipeline
        self.sessionmaker = sessionmaker
        self.out = out
        self.chat_id = chat_id
        self.choices: list[Button] = []

    def message_for(self, line: str) -> IncomingMessage:
        """A typed line: a number picks one of the last choices, `/start` starts, anything else is text."""
        text = line.strip()
        kind: MessageKind = "text"
        payload: str | None = None
        start_param: str | None = None
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            button = self.choices[int(text) - 1]
            kind, payload, text = "button", button.payload, button.label
        elif text.split(" ", 1)[0] == "/start":
            kind, start_param = "start", text[len("/start") :].strip() or None
        return IncomingMessage(
            channel="console",
            chat_id=self.chat_id,
            user_id=self.chat_id,
            kind=kind,
            text=text,
            payload=payload,
            start_param=start_param,
            received_at=utcnow(),
        )

    async def say(self, msg: IncomingMessage) -> list[Reply]:
        """Run the pipeline on `msg`, print the replies and remember their buttons as the next choices."""
        async with self.sessionmaker.begin() as session:
            await upsert_contact(session, "console", self.chat_id, self.chat_id)
        try:
            replies = await self.pipeline.respond(msg)
        except Exception:
            log.exception("chat: the pipeline failed")
            replies = [self.pipeline.error_reply()]
        self.choices = []
        for reply in replies:
            text, choices = render_reply(reply, first_number=len(self.choices) + 1)
            self.choices.extend(choices)
            self.out.write(f"\n{text}\n")
        self.out.flush()
        return replies


async def chat(settings: Settings, stdin: TextIO, out: TextIO, chat_id: str = "terminal") -> int:
    """The terminal loop: a welcome, then one reply per typed line until /quit or end of input."""
    async with open_app(terminal_settings(settings)) as app:
        session = ChatSession(app[PIPELINE], app[keys.SESSIONMAKER], out, chat_id)
        out.write(BANNER)
        await session.say(session.message_for("/start"))
        interactive = stdin.isatty()
        while True:
            if interactive:
                out.write("\n> ")
                out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            if line.strip().lower() in QUIT_WORDS:
                break
            if not interactive:
                out.write(f"\n> {line.strip()}\n")
            await session.say(session.message_for(line))
    return 0
