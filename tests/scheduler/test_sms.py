"""SMS text (GSM-7 transliteration, length, numbered segments) and the HTTP gateway against a fake on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.channels.base import SendOutcome
from bot.sms import (
    ConsoleSmsGateway,
    HttpSmsGateway,
    SmsSender,
    TemplateError,
    create_sms_gateway,
    prepare_sms,
    sms_length,
    to_gsm7,
)
from storage.state import create_state_store

ALERT = (
    "[TTHCC] Sở Tư pháp 23/11: 3 HS đến hạn hôm nay, 5 HS trong 2 ngày làm việc tới, 2 HS quá hạn. "
    "Cần xử lý gấp: TTHCC-261120-0012, TTHCC-261120-0013, TTHCC-261119-0001, TTHCC-261118-0101, TTHCC-261117-0003."
)


# --- text ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Sở Tư pháp", "So Tu phap"),
        ("Đăng ký đất đai – đến hạn", "Dang ky dat dai - den han"),
        ("Hồ sơ quá hạn … “gấp”", 'Ho so qua han ... "gap"'),
        ("ƯỚC TÍNH: 1.000.000₫", "UOC TINH: 1.000.000d"),
        ("Bảo hiểm xã hội, Ủy ban nhân dân", "Bao hiem xa hoi, Uy ban nhan dan"),
        ("漢字 ok", "?? ok"),
    ],
)
def test_text_is_transliterated_to_gsm7(text: str, gsm: str) -> None:
    assert to_gsm7(text) == gsm


def test_decomposed_input_is_transliterated_too() -> None:
    import unicodedata

    assert to_gsm7(unicodedata.normalize("NFD", "Nguyễn Thị Ánh")) == "Nguyen Thi Anh"


def test_extension_characters_count_twice() -> None:
    assert sms_length("[TTHCC]") == 9
    assert sms_length("Sở", unicode=True) == 2
    assert sms_length("🙂", unicode=True) == 2


def test_a_short_text_is_one_sms() -> None:
    text = "[TTHCC] Sở Tư pháp 23/11: 1 HS đến hạn hôm nay."
    assert prepare_sms(text) == ["[TTHCC] So Tu phap 23/11: 1 HS den han hom nay."]


def test_exactly_160_septets_is_still_one_sms() -> None:
    text = "a" * 158 + "[]"[:1]
    assert sms_length(text) == 160
    assert prepare_sms(text) == [text]
    assert len(prepare_sms(text + "b")) == 2


def test_a_longer_alert_is_split_into_numbered_segments_at_word_boundaries() -> None:
    segments = prepare_sms(ALERT)
    assert len(segments) == 2
    assert segments[0].startswith("(1/2) [TTHCC] So Tu phap 23/11: 3 HS den han hom nay")
    assert segments[1].startswith("(2/2) ")
    assert all(sms_length(s) <= 153 for s in segments)
    assert " ".join(s[6:] for s in segments) == to_gsm7(ALERT)


def test_beyond_three_segments_the_text_is_truncated_with_an_ellipsis() -> None:
    long_text = " ".join([ALERT] * 4)
    segments = prepare_sms(long_text)
    assert [s[:6] for s in segments] == ["(1/3) ", "(2/3) ", "(3/3) "]
    assert all(sms_length(s) <= 153 for s in segments)
    assert segments[-1].endswith("...")
    assert not segments[-1].endswith(" ...")
    assert " ".join(s[6:] for s in segments)[:-3] in to_gsm7(long_text)


def test_a_word_longer_than_a_segment_is_cut() -> None:
    segments = prepare_sms("x" * 400)
    assert len(segments) == 3 and all(sms_length(s) <= 153 for s in segments)


def test_unicode_gateways_keep_diacritics_and_use_70_character_segments() -> None:
    one = prepare_sms("Sở Tư pháp: 3 HS đến hạn hôm nay", unicode=True)
    assert one == ["Sở Tư pháp: 3 HS đến hạn hôm nay"]
    segments = prepare_sms(ALERT, unicode=True)
    assert len(segments) == 3
    assert all(sms_length(s, unicode=True) <= 67 for s in segments)
    assert "Sở Tư pháp" in segments[0]
    assert segments[-1].endswith("...")


# --- templates and requests --------------------------------------------------------------------------------


def test_a_json_template_gets_json_escaped_values() -> None:
    gateway = HttpSmsGateway("http://127.0.0.1/send", auth_header="Bearer s3cret")
    url, headers, body = gateway.request_parts("84912345678", 'Hồ sơ "A"\\B\n')
    assert url == "http://127.0.0.1/send"
    assert headers == {"Authorization": "Bearer s3cret", "Content-Type": "application/json; charset=utf-8"}
    assert body is not None and json.loads(body) == {"phone": "84912345678", "text": 'Hồ sơ "A"\\B\n'}


def test_a_form_template_is_url_encoded_and_a_named_auth_header_is_kept() -> None:
    gateway = HttpSmsGateway(
        "http://127.0.0.1/send",
        auth_header="X-Api-Key: k1",
        body_template="ApiKey=abc&Phone={phone}&Content={text}&Brandname=TTHCC",
    )
    _url, headers, body = gateway.request_parts("84912345678", "So Tu phap & co 100%")
    assert headers == {"X-Api-Key": "k1", "Content-Type": "application/x-www-form-urlencoded"}
    assert body == "ApiKey=abc&Phone=84912345678&Content=So+Tu+phap+%26+co+100%25&Brandname=TTHCC"


def test_a_get_gateway_takes_its_values_in_the_url() -> None:
    gateway = HttpSmsGateway("http://127.0.0.1/send?to={phone}&msg={text}", method="get")
    url, headers, body = gateway.request_parts("84912345678", "a b&c")
    assert url == "http://127.0.0.1/send?to=84912345678&msg=a%20b%26c"
    assert body is None and headers == {}


def test_unknown_placeholders_are_refused() -> None:
    with pytest.raises(TemplateError, match="unknown placeholder"):
        HttpSmsGateway("http://127.0.0.1/send", body_template='{{"to": "{number}"}}')
    with pytest.raises(TemplateError):
        HttpSmsGateway("http://127.0.0.1/send", body_template="{phone.__class__}")


def test_without_a_url_sms_go_to_the_log(make_settings: Callable[..., Any]) -> None:
    assert isinstance(create_sms_gateway(make_settings()), ConsoleSmsGateway)
    assert isinstance(create_sms_gateway(make_settings(sms_gateway_url="http://127.0.0.1:9/sms")), HttpSmsGateway)


async def test_the_console_gateway_masks_the_phone(caplog: pytest.LogCaptureFixture) -> None:
    sender = SmsSender(ConsoleSmsGateway())
    with caplog.at_level(logging.INFO, logger="bot.sms"):
        outcome = await sender.send("0912345678", {"text": "Sở Tư pháp: 1 HS quá hạn"})
    assert outcome.status == "sent"
    assert "849*****678: So Tu phap: 1 HS qua han" in caplog.text
    assert "84912345678" not in caplog.text


# --- against a fake gateway on 127.0.0.1 -------------------------------------------------------------------


@dataclass
class FakeGateway:
    """Records requests; answers with the next scripted mode (ok, 500, 400, 429, timeout)."""

    modes: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append({"method": request.method, "headers": dict(request.headers), "body": body})
        mode = self.modes.pop(0) if self.modes else "ok"
        if mode == "timeout":
            await asyncio.sleep(5)
        if mode == "500":
            return web.Response(status=500, text="internal error")
        if mode == "400":
            return web.json_response({"error": "invalid brandname"}, status=400)
        if mode == "429":
            return web.Response(status=429, headers={"Retry-After": "7"})
        return web.json_response({"message_id": f"m{len(self.requests)}"})

    @property
    def texts(self) -> list[str]:
        return [json.loads(r["body"])["text"] for r in self.requests]


@pytest.fixture
async def fake_gateway(aiohttp_server: Callable[..., Awaitable[Any]]) -> FakeGateway:
    fake = FakeGateway()
    app = web.Application()
    app.router.add_post("/sms/send", fake.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    fake.url = str(server.make_url("/sms/send"))
    return fake


def http_sender(fake: FakeGateway, *, state: Any = None, timeout: float = 10.0) -> SmsSender:
    gateway = HttpSmsGateway(fake.url, auth_header="Authorization: Basic dXNlcjpwYXNz", timeout=timeout)
    return SmsSender(gateway, state=state)


async def test_the_gateway_delivers_a_transliterated_sms(fake_gateway: FakeGateway) -> None:
    sender = http_sender(fake_gateway)
    try:
        outcome = await sender.send("0912 345 678", {"text": "[TTHCC] Sở Tư pháp 23/11: 1 HS quá hạn."})
    finally:
        await sender.close()
    assert outcome == SendOutcome.sent("m1")
    [request] = fake_gateway.requests
    assert request["method"] == "POST"
    assert request["headers"]["Authorization"] == "Basic dXNlcjpwYXNz"
    assert json.loads(request["body"]) == {"phone": "84912345678", "text": "[TTHCC] So Tu phap 23/11: 1 HS qua han."}


async def test_a_server_error_means_retry(fake_gateway: FakeGateway) -> None:
    fake_gateway.modes = ["500"]
    sender = http_sender(fake_gateway)
    try:
        outcome = await sender.send("84912345678", {"text": "x"})
    finally:
        await sender.close()
    assert outcome.status == "retry"
    assert outcome.error is not None and "500" in outcome.error


async def test_a_timeout_means_retry(fake_gateway: FakeGateway) -> None:
    fake_gateway.modes = ["timeout"]
    sender = http_sender(fake_gateway, timeout=0.2)
    try:
        outcome = await sender.send("84912345678", {"text": "x"})
    finally:
        await sender.close()
    assert outcome == SendOutcome("retry", error="SMS gateway timed out")


async def test_a_refusal_fails_and_a_rate_limit_waits(fake_gateway: FakeGateway) -> None:
    fake_gateway.modes = ["400", "429"]
    sender = http_sender(fake_gateway)
    try:
        refused = await sender.send("84912345678", {"text": "x"})
        limited = await sender.send("84912345678", {"text": "y"})
    finally:
        await sender.close()
    assert refused.status == "failed" and refused.error is not None and "invalid brandname" in refused.error
    assert limited.status == "retry" and limited.retry_after == 7.0


async def test_an_unreachable_gateway_means_retry() -> None:
    sender = SmsSender(HttpSmsGateway("http://127.0.0.1:9/sms"))
    try:
        outcome = await sender.send("84912345678", {"text": "x"})
    finally:
        await sender.close()
    assert outcome.status == "retry" and outcome.error is not None and "unreachable" in outcome.error


async def test_bad_input_fails_without_calling_the_gateway(fake_gateway: FakeGateway) -> None:
    sender = http_sender(fake_gateway)
    try:
        assert (await sender.send("12345", {"text": "x"})).status == "failed"
        assert (await sender.send("0912345678", {"text": "  "})).status == "failed"
    finally:
        await sender.close()
    assert fake_gateway.requests == []


async def test_a_retried_long_sms_does_not_repeat_delivered_segments(
    fake_gateway: FakeGateway, redis_url: str | None
) -> None:
    state = create_state_store(redis_url)
    sender = http_sender(fake_gateway, state=state)
    fake_gateway.modes = ["ok", "500"]
    try:
        first = await sender.send("0912345678", {"text": ALERT})
        second = await sender.send("0912345678", {"text": ALERT})
        third = await sender.send("0912345678", {"text": ALERT})
    finally:
        await sender.close()
        await state.close()
    assert (first.status, second.status, third.status) == ("retry", "sent", "sent")
    texts = fake_gateway.texts
    # 1/2 delivered, 2/2 failed; the retry sends only 2/2; a later, separate send is a new message.
    assert [t[:6] for t in texts] == ["(1/2) ", "(2/2) ", "(2/2) ", "(1/2) ", "(2/2) "]
    assert texts[1] == texts[2]
