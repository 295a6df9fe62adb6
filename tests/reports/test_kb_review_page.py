"""`/dashboard/ra-soat` ("Nội dung cần rà soát"): the officers' view of what the knowledge base must confirm."""

from __future__ import annotations

from typing import Any

from tests.reports.test_dashboard import KeyMaker, sign_in


async def test_the_review_page_needs_a_session(report_client: Any) -> None:
    response = await report_client.get("/dashboard/ra-soat", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/login"


async def test_the_review_page_lists_the_editorial_notes(report_client: Any, report_key: KeyMaker) -> None:
    await sign_in(report_client, await report_key("officer", "so-tu-phap"))
    response = await report_client.get("/dashboard/ra-soat")
    assert response.status == 200
    html = await response.text()
    assert "<h1>Nội dung cần rà soát</h1>" in html
    # a note the bundled knowledge base keeps for officers only
    assert "Thông tư 16/2025/TT-BTC" in html and "Cấp Phiếu lý lịch tư pháp" in html
    assert 'id="kb-errors"' in html and 'id="kb-review"' in html and 'id="kb-warnings"' in html
    assert 'href="/dashboard/ra-soat"' in (await (await report_client.get("/dashboard")).text())
