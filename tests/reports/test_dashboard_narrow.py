"""The dashboard on a 400 px phone: no column of the department table or the overdue list off-screen; a
dossier's history dates its receipt when it happened."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot import keys
from bot.dashboard import STATIC
from storage.models import Procedure
from tests.reports.test_dashboard import KeyMaker, sign_in

SEPT = "from=2025-09-01&to=2025-09-30"


def cells(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return re.findall(r"<td[^>]*>", body)


async def test_every_figure_of_a_row_carries_its_label_for_the_stacked_phone_layout(
    report_client: Any, report_key: KeyMaker
) -> None:
    """At 400 px the late/overdue/due/satisfaction columns were scrolled off-screen with no cue."""
    await sign_in(report_client, await report_key("admin"))
    html = await (await report_client.get(f"/dashboard?{SEPT}")).text()
    for table_id, per_row in (("departments", 7), ("overdue", 4)):
        assert f'class="data stack" id="{table_id}"' in html
        tds = cells(html, table_id)
        assert tds and len(tds) % per_row == 0, table_id
        for i, td in enumerate(tds):
            if i % per_row == 0:
                assert 'class="name"' in td, (table_id, td)
            else:
                assert "data-label=" in td, (table_id, td)
    css = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    narrow = css.split("@media (max-width: 600px) {\n  table.stack", 1)
    assert len(narrow) == 2, "the stacked layout for narrow screens"
    assert "content: attr(data-label)" in narrow[1]


async def test_the_history_dates_the_receipt_when_it_happened(report_client: Any, report_key: KeyMaker) -> None:
    """The received event showed the time the dossier was entered, not the time it was received."""
    headers = await report_key("admin")
    async with report_client.app[keys.SESSIONMAKER]() as session:
        procedure = (await session.execute(Procedure.__table__.select().limit(1))).first()
    assert procedure is not None
    body = {
        "procedure_id": procedure.id,
        "applicant": {"name": "Đỗ Văn Hùng"},
        "channel": "direct",
        "received_at": "2025-09-15T08:40:00",
    }
    resp = await report_client.post("/api/v1/dossiers", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    code = (await resp.json())["code"]
    view = await (await report_client.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
    assert view["events"][0]["at"] == view["received_at"] == "2025-09-15T08:40:00+07:00"
    await sign_in(report_client, headers)
    page = await (await report_client.get(f"/dashboard/dossiers/{code}")).text()
    history = page.split('class="events"', 1)[1]
    assert "<time>15/09/2025 08:40</time>" in history


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium)",
)
async def test_at_400_px_every_figure_is_on_screen(report_client: Any, report_key: KeyMaker) -> None:
    from playwright.async_api import async_playwright

    from tests.reports.test_browser import CHROMIUM_ARGS

    headers = await report_key("admin")
    login = await report_client.post(
        "/dashboard/login", data={"api_key": headers["Authorization"].removeprefix("Bearer ")}, allow_redirects=False
    )
    cookie = login.cookies["motcua_session"].value
    base = str(report_client.make_url("")).rstrip("/")
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 400, "height": 900}, is_mobile=True)
            await page.context.add_cookies([{"name": "motcua_session", "value": cookie, "url": base}])
            await page.goto(f"{base}/dashboard?{SEPT}")
            right_edges = await page.evaluate(
                "[...document.querySelectorAll('#departments td, #overdue td')]"
                ".map(td => td.getBoundingClientRect().right)"
            )
            assert right_edges and max(right_edges) <= 400
            assert await page.evaluate("document.documentElement.scrollWidth") <= 400
        finally:
            await browser.close()
