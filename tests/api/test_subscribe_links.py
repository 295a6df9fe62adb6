"""Subscribe links in the dossier API: one live token per dossier, shown again by every read; a new one only on
an explicit rotation, which revokes the old. Tokens a person can read off the paper receipt and type."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from sqlalchemy import func, select

from bot import keys
from bot.app import create_app
from bot.receipt import LINK_PADDING, ReceiptData, SubscribeLink, link_lines, receipt_story
from bot.settings import Settings
from storage.models import SubscriptionToken
from storage.subscriptions import ALPHABET, TOKEN_CHARS, resolve_token

SECRET = "subscribe-links-test-secret-0123456789"


def token_of(link: str) -> str:
    query = parse_qs(urlparse(link).query)
    return (query.get("start") or query["ref"])[0]


async def create(client: Any, headers: dict[str, str], procedure_id: str) -> dict[str, Any]:
    body = {"procedure_id": procedure_id, "applicant": {"name": "Phạm Thị Lan"}, "channel": "direct"}
    resp = await client.post("/api/v1/dossiers", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


async def live_rows(client: Any) -> int:
    async with client.app[keys.SESSIONMAKER]() as session:
        return int((await session.execute(select(func.count()).select_from(SubscriptionToken))).scalar_one())


async def opens(client: Any, token: str) -> str:
    async with client.app[keys.SESSIONMAKER]() as session:
        found = await resolve_token(session, token, now=datetime.now(UTC))
    return found.status


async def test_reads_show_the_dossiers_one_live_token(client: Any, api_key: Any, two_procedures: Any) -> None:
    """50 GETs minted 50 more 90-day tokens (52 live); each one linked any chat to the applicant's receipt."""
    headers = await api_key("admin")
    code = (await create(client, headers, two_procedures[0].id))["code"]
    links = set()
    for _ in range(50):
        view = await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
        links.add(view["subscribe_links"]["telegram"])
    resp = await client.get(f"/api/v1/dossiers/{code}/receipt.pdf", headers=headers)
    assert resp.status == 200
    printed = re.search(rb"https://t\.me/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]+)", await resp.read())
    assert printed is not None
    assert len(links) == 1
    assert token_of(links.pop()) == printed.group(1).decode()
    assert await live_rows(client) == 1


async def test_rotation_issues_a_new_token_and_revokes_the_old(client: Any, api_key: Any, two_procedures: Any) -> None:
    headers = await api_key("admin")
    code = (await create(client, headers, two_procedures[0].id))["code"]
    old = token_of(
        (await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json())["subscribe_links"]["telegram"]
    )
    assert await opens(client, old) == "ok"
    resp = await client.post(f"/api/v1/dossiers/{code}/subscribe-links", headers=headers)
    assert resp.status == 200, await resp.text()
    new = token_of((await resp.json())["subscribe_links"]["telegram"])
    assert new != old
    assert await opens(client, old) == "unknown"
    assert await opens(client, new) == "ok"
    view = await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
    assert token_of(view["subscribe_links"]["telegram"]) == new
    assert await live_rows(client) == 1


async def test_rotation_respects_roles_and_departments(client: Any, api_key: Any, two_procedures: Any) -> None:
    first, second = two_procedures
    code = (await create(client, await api_key("admin"), first.id))["code"]
    path = f"/api/v1/dossiers/{code}/subscribe-links"
    assert (await client.post(path)).status == 401
    other = await client.post(path, headers=await api_key("officer", second.department))
    assert other.status in (403, 404)
    assert (await client.post(path, headers=await api_key("officer", first.department))).status == 200
    assert (await client.post("/api/v1/dossiers/NOPE-1/subscribe-links", headers=await api_key("admin"))).status == 404


async def test_every_replica_sharing_the_secret_shows_the_same_token(
    aiohttp_client: Any, make_settings: Callable[..., Settings], api_key: Any, two_procedures: Any
) -> None:
    replicas = [await aiohttp_client(create_app(make_settings(session_secret=SECRET))) for _ in range(2)]
    headers = await api_key("admin")
    code = (await create(replicas[0], headers, two_procedures[0].id))["code"]
    tokens = set()
    for replica in replicas * 2:
        view = await (await replica.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
        tokens.add(token_of(view["subscribe_links"]["telegram"]))
    assert len(tokens) == 1
    assert await live_rows(replicas[0]) == 1


async def test_a_token_nearing_its_end_is_replaced_by_a_fresh_one(
    aiohttp_client: Any, make_settings: Callable[..., Settings], api_key: Any, two_procedures: Any
) -> None:
    """A receipt printed on day 80 of 90 must not carry a link that stops working 10 days later."""
    now = [datetime(2026, 11, 23, 3, 0, tzinfo=UTC)]
    app = create_app(make_settings(session_secret=SECRET), clock=lambda: now[0])
    client = await aiohttp_client(app)
    headers = await api_key("admin")
    code = (await create(client, headers, two_procedures[0].id))["code"]
    first = (await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json())["subscribe_links"]
    now[0] += timedelta(days=80)
    later = (await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json())["subscribe_links"]
    assert later["telegram"] != first["telegram"]
    assert datetime.fromisoformat(later["expires_at"]) - now[0] > timedelta(days=89)


async def test_tokens_use_an_alphabet_a_person_can_type(client: Any, api_key: Any, two_procedures: Any) -> None:
    """The link under each QR mixed O/0 and l/I."""
    assert not set("0O1IlL") & set(ALPHABET)
    headers = await api_key("admin")
    code = (await create(client, headers, two_procedures[0].id))["code"]
    view = await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
    token = token_of(view["subscribe_links"]["telegram"])
    assert len(token) == TOKEN_CHARS and set(token) <= set(ALPHABET)
    assert await opens(client, token.lower()) == "ok"  # typed in lower case


def receipt_data(received_at: datetime, links: list[SubscribeLink]) -> ReceiptData:
    return ReceiptData(
        code="TTHCC-260302-0001",
        applicant_name="Phạm Thị Lan",
        applicant_phone=None,
        applicant_id_number=None,
        procedure="Cấp Phiếu lý lịch tư pháp",
        department="Sở Tư pháp",
        processing_days=10,
        channel="direct",
        return_method="counter",
        received_at=received_at,
        due_at=received_at + timedelta(days=14),
        fees=None,
        documents=[],
        links=links,
    )


def texts(flowables: Any) -> list[str]:
    """The text of every paragraph, tables included."""
    found: list[str] = []
    for item in flowables if isinstance(flowables, list) else [flowables]:
        if isinstance(item, list):
            found += texts(item)
        elif hasattr(item, "_cellvalues"):
            for row in item._cellvalues:
                for cell in row:
                    found += texts(cell if isinstance(cell, list) else [cell])
        elif hasattr(item, "getPlainText"):
            found.append(item.getPlainText())
    return found


def test_the_receipt_is_dated_the_day_the_dossier_was_received(settings: Settings) -> None:
    """It was dated the day it was printed."""
    from zoneinfo import ZoneInfo

    received = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 local on 2 March
    story = receipt_story(receipt_data(received, []), settings, ZoneInfo("Asia/Ho_Chi_Minh"), 480)
    assert "Ngày 02 tháng 03 năm 2026" in texts(story)


@pytest.mark.parametrize("username", ["motcua_bot", "trung_tam_phuc_vu_hanh_chinh_bot"])
def test_the_link_under_each_qr_fits_its_column_without_splitting_the_token(settings: Settings, username: str) -> None:
    from zoneinfo import ZoneInfo

    token = "K7QM3XPRT9ABCDEFGH23"
    url = f"https://t.me/{username}?start={token}"
    width = (210 - 25 - 18) * mm  # A4 between the receipt's margins
    story = receipt_story(
        receipt_data(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), [SubscribeLink("Telegram", url)]),
        settings,
        ZoneInfo("Asia/Ho_Chi_Minh"),
        width,
    )
    shown = [t for t in texts(story) if token in t]
    assert shown, "the link is printed"
    lines = link_lines(url, 0.27 * width - 2 * LINK_PADDING, "DejaVuSerif", 7.5)
    assert all(stringWidth(line, "DejaVuSerif", 7.5) <= 0.27 * width - 2 * LINK_PADDING for line in lines)
    assert any(line.endswith(token) for line in lines) and not lines[0].startswith("https://")
    assert "".join(lines) == url.removeprefix("https://")
