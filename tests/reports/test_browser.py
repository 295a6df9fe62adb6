"""The dashboard in a real browser: Playwright driving Debian's Chromium against a real `create_app` server.

Signs in with an API key, changes the period with the picker, checks the figures, and saves screenshots to
`var/dashboard.png` (desktop, last 12 months of demo data), `var/dashboard-2025-09.png` (the hand-counted
September) and `var/dashboard-phone.png` (a 390 px wide phone).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.settings import Settings
from tests.reports.data import load_rows

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var"

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the dev extra is not installed
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(async_playwright is None, reason="playwright (python) is not installed"),
    pytest.mark.skipif(
        not CHROMIUM.exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]


async def _add_demo_ratings(app: web.Application) -> None:
    """Ratings for the demo's returned dossiers (the demo itself has none)."""
    from storage.models import Dossier, Rating

    rng = random.Random(7)
    async with app[keys.SESSIONMAKER].begin() as session:
        rows = (await session.execute(select(Dossier).where(Dossier.status == "returned"))).scalars().all()
        for dossier in rows:
            if dossier.code.startswith("RPT-") or dossier.returned_at is None:
                continue
            level = rng.choices(["very_satisfied", "satisfied", "not_satisfied"], weights=[60, 32, 8])[0]
            session.add(
                Rating(
                    dossier_id=dossier.id,
                    department_id=dossier.department_id,
                    channel="zalo",
                    level=level,
                    score={"very_satisfied": 3, "satisfied": 2, "not_satisfied": 1}[level],
                    created_at=dossier.returned_at,
                    updated_at=dossier.returned_at,
                )
            )


@pytest.fixture
async def server(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[str, str]]:
    """A real server on 127.0.0.1 (real clock) with demo data, the report data set, and an admin key."""
    from bot.app import create_app
    from bot.demo import load_demo
    from storage.apikeys import create_api_key

    app = create_app(make_settings())
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await load_demo(app[keys.SESSIONMAKER], app[keys.DOSSIERS], app[keys.CALENDAR])
        async with app[keys.SESSIONMAKER].begin() as session:
            await load_rows(session)
            _row, secret = await create_api_key(session, name="Lãnh đạo Trung tâm", role="admin")
        await _add_demo_ratings(app)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}", secret
    finally:
        await runner.cleanup()


async def test_sign_in_change_the_period_and_screenshot(server: tuple[str, str]) -> None:
    base, secret = server
    SCREENSHOTS.mkdir(exist_ok=True)
    assert async_playwright is not None
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
            await page.goto(f"{base}/dashboard")
            assert page.url == f"{base}/dashboard/login"  # not signed in: sent to the sign-in page
            await page.fill("#api_key", secret)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/dashboard")
            assert "Lãnh đạo Trung tâm" in await page.inner_text("header")
            cookies = await page.context.cookies()
            (session_cookie,) = [c for c in cookies if c["name"] == "motcua_session"]
            assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"

            # Change the period with the picker: September 2025, the hand-counted data set.
            await page.fill("#from", "2025-09-01")
            await page.fill("#to", "2025-09-30")
            await page.click("#apply")
            await page.wait_for_url("**/dashboard?from=2025-09-01&to=2025-09-30*")
            assert await page.inner_text("#stat-received") == "17"
            assert await page.inner_text("#stat-on-time") == "55,56%"
            assert await page.inner_text("#stat-satisfaction") == "75%"
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-2025-09.png"), full_page=True)

            # Sort the departments by on-time rate (a plain link: no JavaScript on the page).
            await page.click("#departments th a:has-text('Tỷ lệ đúng hạn')")
            await page.wait_for_url("**sort=on_time_rate*")
            first = await page.inner_text("#departments tbody tr:first-child td:first-child")
            assert first == "Sở Tài chính"  # 57,14 % before Sở Tư pháp's 50 %

            # A preset: the last 12 months of demo data, for the main screenshot.
            await page.click("nav.presets a:has-text('12 tháng')")
            await page.wait_for_load_state()
            assert int((await page.inner_text("#stat-received")).replace(".", "")) >= 200
            assert "tính đến hết ngày" not in await page.inner_text("main")  # this period runs until today
            assert await page.locator("svg.chart rect").count() >= 36
            await page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

            # The overdue list links to a dossier's page.
            await page.click("#overdue tbody tr:first-child a")
            await page.wait_for_url("**/dashboard/dossiers/*")
            assert "Quá trình xử lý" in await page.inner_text("main")

            # On a phone: no horizontal scrolling of the page itself.
            phone = await browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            await phone.context.add_cookies([session_cookie])  # type: ignore[list-item]
            await phone.goto(f"{base}/dashboard")
            assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
            await phone.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)

            # Sign out (a POST form) ends the session.
            await page.goto(f"{base}/dashboard")
            await page.click("header button:has-text('Đăng xuất')")
            await page.wait_for_url(f"{base}/dashboard/login")
            await page.goto(f"{base}/dashboard")
            assert page.url == f"{base}/dashboard/login"
        finally:
            await browser.close()
    assert (SCREENSHOTS / "dashboard.png").stat().st_size > 10_000
