"""CSV import of dossiers (API and CLI): each good row lands, each bad row is reported, none half-written.

Columns: code, procedure_id, department_id, applicant_name, applicant_phone, channel, received_at, due_at,
status, resolved_at, returned_at, return_method (only procedure_id, applicant_name, channel required).
Times are ISO 8601, local time when no offset. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import in_supported_range
from storage.codes import code_key
from storage.db import SessionMaker
from storage.dossiers import DossierService, NewDossier, import_fingerprint
from storage.errors import DomainError
from storage.models import ReturnMethod

COLUMNS = (
    "code",
    "procedure_id",
    "department_id",
    "applicant_name",
    "applicant_phone",
    "channel",
    "received_at",
    "due_at",
    "status",
    "resolved_at",
    "returned_at",
    "return_method",
)
REQUIRED = ("procedure_id", "applicant_name", "channel")
MAX_ROWS = 200_000


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    accepted: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.unchanged + len(self.rejected)

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "rejected": [{"line": e.line, "reason": e.reason} for e in self.rejected],
        }


class ImportFileError(DomainError):
    code = "invalid_csv"


def read_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; checks the header first."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError("The CSV file is empty; the first row must be the header")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ImportFileError(f"Unknown columns {unknown}; expected some of {', '.join(COLUMNS)}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(f"Missing required columns {missing}")
    reader.fieldnames = header
    for row in reader:
        if None in row:
            yield reader.line_num, {"__extra__": "x"}
            continue
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _time(value: str, tz: ZoneInfo, column: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(f"{column}: {value!r} is not an ISO 8601 time") from None
    if not in_supported_range(parsed.date()):
        raise DomainError(f"{column}: {value!r} is outside the supported dates")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def row_to_new_dossier(row: dict[str, str], tz: ZoneInfo) -> NewDossier:
    if "__extra__" in row:
        raise DomainError("the row has more cells than the header")
    for column in REQUIRED:
        if not row.get(column):
            raise DomainError(f"{column} is required")
    received_at = _time(row.get("received_at", ""), tz, "received_at")
    new = NewDossier(
        procedure_id=row["procedure_id"],
        applicant_name=row["applicant_name"],
        channel=row["channel"].lower(),
        applicant_phone=row.get("applicant_phone") or None,
        code=row.get("code") or None,
        received_at=received_at,
        department_id=row.get("department_id") or None,
        return_method=(row.get("return_method") or ReturnMethod.COUNTER.value).lower(),
        due_at=_time(row.get("due_at", ""), tz, "due_at"),
        status=(row.get("status") or "received").lower(),
        resolved_at=_time(row.get("resolved_at", ""), tz, "resolved_at"),
        returned_at=_time(row.get("returned_at", ""), tz, "returned_at"),
    )
    if new.code is None:
        if received_at is None:
            raise DomainError("a row without a code needs received_at (so re-importing it changes nothing)")
        new.import_key = import_fingerprint(
            new.procedure_id, new.applicant_name, new.applicant_phone, new.channel, received_at.isoformat()
        )
    return new


async def import_dossiers(
    sessionmaker: SessionMaker,
    service: DossierService,
    text: str,
    *,
    tz: ZoneInfo,
    actor: str,
    department_scope: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV text; each row in its own savepoint so a bad row never aborts the good ones."""
    report = ImportReport()
    rows = list(read_rows(text))
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"At most {MAX_ROWS} rows per file")
    batch = 500
    for start in range(0, len(rows), batch):
        async with sessionmaker.begin() as session:
            for line, row in rows[start : start + batch]:
                await _import_row(session, service, line, row, tz, actor, department_scope, report)
        if progress is not None:
            progress(min(start + batch, len(rows)))
    return report


async def _import_row(
    session: AsyncSession,
    service: DossierService,
    line: int,
    row: dict[str, str],
    tz: ZoneInfo,
    actor: str,
    department_scope: str | None,
    report: ImportReport,
) -> None:
    try:
        new = row_to_new_dossier(row, tz)
        if new.code and await service.find_by_key(session, code_key(new.code)) is not None:
            report.unchanged += 1
            return
        if new.import_key and await service.find_by_import_key(session, new.import_key) is not None:
            report.unchanged += 1
            return
        async with session.begin_nested():
            dossier = await service.create(session, new, actor=actor, department_scope=department_scope)
        report.accepted += 1
        report.codes.append(dossier.code)
    except DomainError as exc:
        report.rejected.append(RowError(line=line, reason=exc.message))
