"""`/dashboard`: sign-in for a signed cookie, scoping, the page's figures, files, tampering refused."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from bot import keys
from bot.dashboard import COOKIE, Session, sign_session
from bot.settings import Settings
from tests.reports.data import DEPT_A, DEPT_B, NOW, load_rows

SEPT = "from=2025-09-01&to=2025-09-30"
KeyMaker = Callable[..., Any]


def _secret(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def sign_in(client: Any, headers: dict[str, str]) -> Any:
    response = await client.post("/dashboard/login", data={"api_key": _secret(headers)}, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/dashboard"
    return response


def _table_names(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>\s*<td(?: class=\"name\")?>([^<]+)</td>", body)


async def test_pages_need_a_session(report_client: Any) -> None:
    for path in ("/dashboard", f"/dashboard?{SEPT}", "/dashboard/dossiers/RPT-A1"):
        response = await report_client.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/dashboard/login"
    response = await report_client.get("/dashboard/export/summary.csv")
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"


async def test_sign_in_page(report_client: Any) -> None:
    response = await report_client.get("/dashboard/login")
    assert response.status == 200
    html = await response.text()
    assert '<form method="post" action="/dashboard/login"' in html
    assert 'type="password"' in html
    assert "script-src" not in response.headers["Content-Security-Policy"]  # no script may run at all
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    css = re.search(r'href="(/dashboard/static/dashboard\.css[^"]*)"', html)
    assert css is not None
    sheet = await report_client.get(css.group(1).replace("&amp;", "&"))
    assert sheet.status == 200 and "svg.chart" in await sheet.text()


async def test_wrong_and_integration_keys_are_refused(report_client: Any, report_key: KeyMaker) -> None:
    wrong = await report_client.post("/dashboard/login", data={"api_key": "mc_nope"}, allow_redirects=False)
    assert wrong.status == 401
    assert "Khóa truy cập không đúng" in await wrong.text()
    assert COOKIE not in wrong.cookies
    empty = await report_client.post("/dashboard/login", data={}, allow_redirects=False)
    assert empty.status == 401
    huge = await report_client.post("/dashboard/login", data={"api_key": "mc_" + "x" * 5000}, allow_redirects=False)
    assert huge.status == 401
    integration = await report_client.post(
        "/dashboard/login", data={"api_key": _secret(await report_key("integration"))}, allow_redirects=False
    )
    assert integration.status == 403
    assert COOKIE not in integration.cookies


async def test_the_cookie_is_http_only_and_lax(report_client: Any, report_key: KeyMaker) -> None:
    response = await sign_in(report_client, await report_key("admin"))
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/dashboard" in header
    assert "Secure" not in header  # the test settings turn it off (plain HTTP on 127.0.0.1)


async def test_the_cookie_is_secure_by_default(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> None:
    from bot.app import create_app
    from storage.apikeys import create_api_key

    client = await aiohttp_client(create_app(make_settings(session_cookie_secure=True), clock=lambda: NOW))
    async with client.app[keys.SESSIONMAKER].begin() as session:
        _row, secret = await create_api_key(session, name="admin", role="admin")
    response = await client.post("/dashboard/login", data={"api_key": secret}, allow_redirects=False)
    assert "Secure" in response.headers["Set-Cookie"]


async def test_the_admin_dashboard(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    response = await report_client.get(f"/dashboard?{SEPT}")
    assert response.status == 200
    html = await response.text()
    assert "từ ngày 01/09/2025 đến ngày 30/09/2025" in html
    assert re.search(r'id="stat-received">17<', html)
    assert re.search(r'id="stat-resolved">9<', html)
    assert re.search(r'id="stat-on-time">55,56%<', html)
    assert re.search(r'id="stat-in-progress">7<', html)
    assert re.search(r'id="stat-satisfaction">75%<', html)
    assert "Quá hạn 3 · tính đến hết ngày 30/09/2025" in html
    assert "Trực tiếp: <b>8</b> (61,54%)" in html
    assert _table_names(html, "departments") == ["Sở Tài chính", "Sở Tư pháp"]
    # Overdue now (2 October): oldest first, each a link to the dossier's page.
    assert re.findall(r'href="/dashboard/dossiers/([^"]+)"', html) == ["RPT-B3", "RPT-A6", "RPT-A8"]
    assert '<option value="so-tu-phap">Sở Tư pháp</option>' in html
    # Inline SVG, well-formed: the trend (12 months of 3 bars, and a 6-month one for phones) and the ring.
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 3
    rect = "{http://www.w3.org/2000/svg}rect"
    assert len(ET.fromstring(svgs[0]).findall(rect)) == 12 * 3 + 3  # bars + legend
    assert len(ET.fromstring(svgs[1]).findall(rect)) == 6 * 3 + 3
    assert "09/25 — Tiếp nhận: 13" in svgs[0] and "09/25 — Trễ hạn: 4" in svgs[1]
    ring = ET.fromstring(svgs[2])
    assert len(ring.findall("{http://www.w3.org/2000/svg}circle")) == 1 + 3  # track + three channels
    assert "<script" not in html
    assert 'href="/dashboard/export/summary.xlsx?from=2025-09-01&amp;to=2025-09-30"' in html
    assert "/dashboard/export/dossiers.csv?received_from=2025-09-01&amp;received_to=2025-10-01" in html


async def test_the_current_month_counts_open_dossiers_now(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    html = await (await report_client.get("/dashboard")).text()
    assert "từ ngày 01/10/2025 đến ngày 02/10/2025" in html
    assert "Quá hạn 3 · tính đến 10:00 02/10/2025" in html
    assert re.search(r'id="stat-in-progress">8<', html)
    assert re.search(r'id="stat-on-time">—<', html)  # nothing resolved yet: no rate, not 0 %


async def test_departments_sort_by_rates(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    # On-time: A 57.14 %, B 50 %; satisfaction: A 66.67 %, B 100 %.
    cases = {
        "sort=on_time_rate&order=desc": ["Sở Tài chính", "Sở Tư pháp"],
        "sort=on_time_rate&order=asc": ["Sở Tư pháp", "Sở Tài chính"],
        "sort=satisfaction_rate&order=desc": ["Sở Tư pháp", "Sở Tài chính"],
        "sort=satisfaction_rate&order=asc": ["Sở Tài chính", "Sở Tư pháp"],
        "sort=nonsense": ["Sở Tài chính", "Sở Tư pháp"],
    }
    for query, names in cases.items():
        html = await (await report_client.get(f"/dashboard?{SEPT}&{query}")).text()
        assert _table_names(html, "departments") == names, query


async def test_an_officer_sees_their_department(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("officer", DEPT_B))
    html = await (await report_client.get(f"/dashboard?{SEPT}")).text()
    assert _table_names(html, "departments") == ["Sở Tư pháp"]
    assert re.search(r'id="stat-received">4<', html)
    assert 'name="department"' not in html  # no department picker
    assert re.findall(r'href="/dashboard/dossiers/([^"]+)"', html) == ["RPT-B3"]
    other = await report_client.get(f"/dashboard?{SEPT}&department={DEPT_A}")
    assert other.status == 403
    assert "another department" in await other.text()
    assert (await report_client.get("/dashboard/dossiers/RPT-A4")).status == 404  # as a missing one
    assert (await report_client.get(f"/dashboard/export/summary.csv?department={DEPT_A}")).status == 403
    assert (await report_client.get(f"/dashboard/export/overdue.csv?department={DEPT_A}")).status == 403
    own = await report_client.get("/dashboard/dossiers/RPT-B2")
    assert own.status == 200
    assert "Hồ sơ RPT-B2" in await own.text()


async def test_bad_periods_show_an_error(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    response = await report_client.get("/dashboard?from=2025-09-30&to=2025-09-01")
    assert response.status == 422
    assert "is after to" in await response.text()
    response = await report_client.get("/dashboard?from=31/12/2025")
    assert response.status == 400
    response = await report_client.get("/dashboard/dossiers/KHONG-CO")
    assert response.status == 404


async def test_the_dossier_page(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    html = await (await report_client.get("/dashboard/dossiers/RPT-A4")).text()
    assert "15/09/2025 17:00" in html and "(hẹn lại: 22/09/2025 17:00)" in html
    assert "Đã xử lý xong" in html


async def test_files_with_the_session(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    response = await report_client.get(f"/dashboard/export/summary.xlsx?{SEPT}")
    assert response.status == 200
    book = load_workbook(io.BytesIO(await response.read()))
    assert book["Tổng hợp"]["A1"].value == "KẾT QUẢ TIẾP NHẬN VÀ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    text = await (await report_client.get(f"/dashboard/export/summary.txt?{SEPT}")).text()
    assert "Tổng số lượng hồ sơ tiếp nhận: 17 hồ sơ" in text
    dossiers = await report_client.get("/dashboard/export/dossiers.csv?received_from=2025-09-01&received_to=2025-10-01")
    assert (await dossiers.read()).decode("utf-8-sig").count("\r\nRPT-") == 13
    overdue = await report_client.get("/dashboard/export/overdue.xlsx")
    sheet = load_workbook(io.BytesIO(await overdue.read()))["Hồ sơ quá hạn"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["RPT-B3", "RPT-A6", "RPT-A8"]


async def test_sign_out_needs_the_session_token(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("admin"))
    html = await (await report_client.get("/dashboard")).text()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert token is not None
    forged = await report_client.post("/dashboard/logout", data={"csrf": "0" * 32}, allow_redirects=False)
    assert forged.status == 403
    assert (await report_client.get("/dashboard", allow_redirects=False)).status == 200  # still signed in
    cross = await report_client.post(
        "/dashboard/logout",
        data={"csrf": token.group(1)},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert cross.status == 403
    out = await report_client.post("/dashboard/logout", data={"csrf": token.group(1)}, allow_redirects=False)
    assert out.status == 303
    assert out.headers["Location"] == "/dashboard/login"
    assert (await report_client.get("/dashboard", allow_redirects=False)).status == 303


async def test_cross_site_sign_in_is_refused(report_client: Any, report_key: KeyMaker) -> None:
    secret = _secret(await report_key("admin"))
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        response = await report_client.post(
            "/dashboard/login", data={"api_key": secret}, headers=headers, allow_redirects=False
        )
        assert response.status == 403, headers
        assert COOKIE not in response.cookies
    host = report_client.make_url("/").host + ":" + str(report_client.port)
    same = await report_client.post(
        "/dashboard/login",
        data={"api_key": secret},
        headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert same.status == 303


async def test_a_revoked_key_ends_its_sessions(report_client: Any, report_key: KeyMaker) -> None:
    from storage.apikeys import list_api_keys, revoke_api_key

    await sign_in(report_client, await report_key("admin"))
    assert (await report_client.get("/dashboard", allow_redirects=False)).status == 200
    async with report_client.app[keys.SESSIONMAKER].begin() as session:
        for row in await list_api_keys(session):
            await revoke_api_key(session, row.id)
    assert (await report_client.get("/dashboard", allow_redirects=False)).status == 303


@pytest.fixture
async def secret_client(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    """An app with a known SESSION_SECRET, the data set and two keys (1: officer B, 2: admin)."""
    from bot.app import create_app
    from storage.apikeys import create_api_key

    client = await aiohttp_client(create_app(make_settings(session_secret="s3cret-for-tests"), clock=lambda: NOW))
    async with client.app[keys.SESSIONMAKER].begin() as session:
        await load_rows(session)
        officer, _ = await create_api_key(session, name="officer", role="officer", department_id=DEPT_B)
        admin, _ = await create_api_key(session, name="admin", role="admin")
    client.officer_id, client.admin_id = officer.id, admin.id
    return client


async def _status_with_cookie(client: Any, value: str) -> int:
    client.session.cookie_jar.clear()
    response = await client.get("/dashboard", headers={"Cookie": f"{COOKIE}={value}"}, allow_redirects=False)
    return int(response.status)


async def test_tampered_cookies_are_refused(secret_client: Any) -> None:
    secret = b"s3cret-for-tests"
    expires = int((NOW + timedelta(hours=1)).timestamp())
    good = sign_session(secret, Session(key_id=secret_client.officer_id, expires=expires, nonce="n1"))
    assert await _status_with_cookie(secret_client, good) == 200  # the control: a correctly signed cookie works

    # The officer's cookie with the admin's key id spliced into the payload, signature kept.
    elevated = sign_session(secret, Session(key_id=secret_client.admin_id, expires=expires, nonce="n1"))
    spliced = elevated.split(".")[0] + "." + good.split(".")[1]
    assert await _status_with_cookie(secret_client, spliced) == 303
    # Signed with another secret.
    other = sign_session(b"another-secret", Session(key_id=secret_client.admin_id, expires=expires, nonce="n1"))
    assert await _status_with_cookie(secret_client, other) == 303
    # Expired.
    old = sign_session(secret, Session(key_id=secret_client.admin_id, expires=int(NOW.timestamp()) - 1, nonce="n"))
    assert await _status_with_cookie(secret_client, old) == 303
    # Garbage, a truncated signature, an unknown key id.
    for value in ("x", "a.b.c", good[:-2], good.replace(".", ""), "%00" * 300):
        assert await _status_with_cookie(secret_client, value) == 303, value
    ghost = sign_session(secret, Session(key_id=999, expires=expires, nonce="n"))
    assert await _status_with_cookie(secret_client, ghost) == 303
