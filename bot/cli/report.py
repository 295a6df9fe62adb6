"""`motcua report --from D --to D [--department ID] [--format table|json|csv|xlsx|text] [--output FILE]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import keys
from bot.report_files import summary_csv, summary_rows, summary_xlsx
from bot.report_text import report_text, vi_percent
from bot.runtime import open_app
from bot.settings import Settings
from storage.errors import DomainError, InvalidInput
from storage.models import utcnow
from storage.reports import Period, Summary, compute_summary, monthly_trend

FORMATS = ("table", "json", "csv", "xlsx", "text")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="the report of a period: received, resolved early/on time/late, in progress, satisfaction",
        description="Báo cáo kết quả tiếp nhận và giải quyết TTHC. Dates are local days (YYYY-MM-DD), both included.",
    )
    parser.add_argument("--from", dest="start", required=True, type=_date, metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, type=_date, metavar="YYYY-MM-DD")
    parser.add_argument("--department", help="one department id (default: the whole centre)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", "-o", type=Path, help="write to FILE instead of standard output")
    parser.set_defaults(func=run_report)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    if args.format == "xlsx" and args.output is None and sys.stdout.isatty():
        print("motcua report: --format xlsx writes a binary file; give --output FILE", file=sys.stderr)
        return 2
    try:
        period = Period.create(args.start, args.end)
        body = asyncio.run(_render(settings, period, args.department, args.format))
    except DomainError as exc:
        print(f"motcua report: {exc.message}", file=sys.stderr)
        return 2
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(body)
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    return 0


async def _render(settings: Settings, period: Period, department: str | None, fmt: str) -> bytes:
    tz = ZoneInfo(settings.timezone)
    async with open_app(settings) as app, app[keys.SESSIONMAKER]() as session:
        summary = await compute_summary(session, period, tz=tz, now=utcnow(), department_id=department)
        if fmt == "json":
            return (json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        if fmt == "csv":
            return summary_csv(summary).encode("utf-8")
        if fmt == "text":
            return report_text(summary, centre_name=settings.centre_name).encode("utf-8")
        if fmt == "xlsx":
            trend = await monthly_trend(session, period, tz=tz, department_id=department)
            return summary_xlsx(summary, tz=tz, centre_name=settings.centre_name, trend=trend)
        if fmt == "table":
            return format_table(summary).encode("utf-8")
    raise InvalidInput(f"unknown format {fmt!r}")


TABLE_COLUMNS = (
    ("department_name", "Cơ quan"),
    ("received_total", "Tiếp nhận"),
    ("carried_over", "Kỳ trước"),
    ("new", "Mới"),
    ("resolved_total", "Đã GQ"),
    ("early", "Trước hạn"),
    ("on_time", "Đúng hạn"),
    ("late", "Trễ hạn"),
    ("on_time_rate", "% đúng hạn"),
    ("in_progress", "Đang GQ"),
    ("overdue", "Quá hạn"),
    ("returned_by_post", "Trả BCCI"),
    ("satisfaction_rate", "% hài lòng"),
)


def format_table(summary: Summary) -> str:
    """A plain-text table for the terminal: one line per department and the total."""
    rows = summary_rows(summary)
    cells = [[label for _key, label in TABLE_COLUMNS]]
    for row in rows:
        line = []
        for key, _label in TABLE_COLUMNS:
            value = row.get(key)
            if key.endswith("_rate"):
                line.append(vi_percent(value))
            else:
                line.append(str(value))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(TABLE_COLUMNS))]
    title = f"Báo cáo {summary.period.label_vi()}"
    if summary.department_id:
        title += f" — {summary.department_name or summary.department_id}"
    out = [title, ""]
    for n, line in enumerate(cells):
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(padded))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    if not rows:
        out.append("(không có hồ sơ trong kỳ)")
    return "\n".join(out) + "\n"
