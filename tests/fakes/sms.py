"""A fake SMS gateway on 127.0.0.1 (the default JSON body `{"phone", "text"}`): records what it was asked to send."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class FakeSmsGateway:
    """`url` is set once a server runs `app`; `sent` lists (phone, text) in order."""

    def __init__(self) -> None:
        self.url = ""
        self.sent: list[tuple[str, str]] = []
        self.app = web.Application()
        self.app.router.add_post("/sms/send", self._send)

    def settings(self) -> dict[str, Any]:
        return {"sms_gateway_url": self.url}

    async def _send(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        self.sent.append((str(body["phone"]), str(body["text"])))
        return web.json_response({"message_id": f"sms-{len(self.sent)}"})


__all__ = ["FakeSmsGateway"]
