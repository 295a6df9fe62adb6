"""What `motcua kb check` says about the currency of the facts, and what officers must still confirm.

Pure functions over a loaded `KnowledgeBase` and a day:

* **errors** — a fact that holds on the day cites a document the table `replaced.yaml` says was replaced
  before that day; a procedure with fees has none that holds on the day;
* **warnings** — a fee, time or documents list not verified for more than `STALE_AFTER_DAYS`, or without its
  legal basis;
* **review items** — the officers' notes (`review`) and the facts marked `confirmed: false`, for
  `motcua kb check --review` and the dashboard page "Nội dung cần rà soát". Citizens never see them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from knowledge.loader import KnowledgeBase
from knowledge.models import Procedure, Replacement

STALE_AFTER_DAYS = 183  # six months
Level = Literal["error", "warning", "review"]

# "175/2024/NĐ-CP", "26/2023/QH15", "73/2024/TT-BTC", "5230/QĐ-BCA-C06" is not a number of this shape
_NUMBER = re.compile(r"\b(\d{1,4}/\d{4}/[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐ0-9]+)*)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One thing to say about one fact: how serious, where (file and field), and what to do."""

    level: Level
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '-'}: {self.message}"


def document_number(text: str) -> str | None:
    """The number of the first document a citation names ("Nghị định 175/2024/NĐ-CP, Điều 5" → "175/2024/NĐ-CP")."""
    match = _NUMBER.search(unicodedata.normalize("NFC", text))
    return match.group(1).upper() if match else None


def cited_numbers(text: str | None) -> list[str]:
    """The documents a basis cites: the first number of each part separated by ";" (later numbers in a part
    describe it: "Thông tư 73/2024/TT-BTC (sửa đổi bởi ...)")."""
    if not text:
        return []
    numbers = (document_number(part) for part in text.split(";"))
    return [number for number in numbers if number]


def replacements_by_number(table: list[Replacement]) -> dict[str, Replacement]:
    return {number: item for item in table if (number := document_number(item.replaced))}


@dataclass(frozen=True)
class _Fact:
    field: str
    basis: str | None
    verified: date
    current: bool
    confirmed: bool
    what: str


def _facts(procedure: Procedure, today: date) -> list[_Fact]:
    """The sourced facts of a procedure: its fees, its time, its documents list."""
    facts = [
        _Fact(
            f"fees.{index}",
            fee.basis,
            procedure.fee_verified(fee),
            fee.valid_until is None or fee.valid_until >= today,
            fee.confirmed,
            f"fee {fee.name!r}",
        )
        for index, fee in enumerate(procedure.fees)
    ]
    time_ = procedure.processing_time
    facts.append(
        _Fact(
            "processing_time",
            time_.basis,
            procedure.time_verified(),
            time_.valid_until is None or time_.valid_until >= today,
            time_.confirmed,
            "processing time",
        )
    )
    facts.append(
        _Fact(
            "documents_basis",
            procedure.documents_basis,
            procedure.list_verified(),
            True,
            procedure.documents_confirmed,
            "documents list",
        )
    )
    return facts


def _replaced_message(number: str, item: Replacement) -> str:
    return (
        f"cites {number}, replaced by {item.replacement} from {item.since:%d/%m/%Y}: cite the replacement, "
        "or end the fact with valid_until"
    )


def check_procedure(procedure: Procedure, replaced: dict[str, Replacement], today: date) -> list[Finding]:
    """Errors and warnings about one procedure on `today`."""
    file = f"procedures/{procedure.id}.yaml"
    findings: list[Finding] = []
    stale_before = today - timedelta(days=STALE_AFTER_DAYS)
    for fact in _facts(procedure, today):
        if not fact.current:
            continue
        for number in cited_numbers(fact.basis):
            item = replaced.get(number)
            if item is not None and item.since <= today:
                findings.append(Finding("error", file, f"{fact.field}.basis", _replaced_message(number, item)))
        if not fact.basis:
            findings.append(Finding("warning", file, fact.field, f"the {fact.what} has no legal basis (basis)"))
        if fact.verified < stale_before:
            findings.append(
                Finding(
                    "warning",
                    file,
                    fact.field,
                    f"the {fact.what} was last verified on {fact.verified:%d/%m/%Y}, more than 6 months ago",
                )
            )
    for index, basis in enumerate(procedure.legal_basis):
        if basis.valid_until is not None and basis.valid_until < today:
            continue
        cited = document_number(basis.document)
        replacement = replaced.get(cited) if cited else None
        if cited and replacement is not None and replacement.since <= today:
            findings.append(
                Finding("error", file, f"legal_basis.{index}.document", _replaced_message(cited, replacement))
            )
    if procedure.fees and not procedure.fees_on(today):
        findings.append(
            Finding("error", file, "fees", f"no fee holds on {today:%d/%m/%Y}: add the fee in force (or its end)")
        )
    return findings


def check(kb: KnowledgeBase, today: date) -> list[Finding]:
    """Errors and warnings about the whole knowledge base on `today`, errors first."""
    replaced = replacements_by_number(kb.replaced)
    findings = [finding for procedure in kb.procedures for finding in check_procedure(procedure, replaced, today)]
    return sorted(findings, key=lambda finding: finding.level != "error")


def review_items(procedure: Procedure) -> list[Finding]:
    """What officers must confirm about one procedure: its editorial notes and its unconfirmed facts."""
    file = f"procedures/{procedure.id}.yaml"
    items = [Finding("review", file, f"review.{index}", note) for index, note in enumerate(procedure.review)]
    for index, fee in enumerate(procedure.fees):
        if not fee.confirmed:
            items.append(
                Finding(
                    "review",
                    file,
                    f"fees.{index}",
                    f"Cần đối chiếu văn bản gốc: {fee.name}" + (f" ({fee.basis})" if fee.basis else ""),
                )
            )
    if not procedure.processing_time.confirmed:
        items.append(Finding("review", file, "processing_time", "Cần đối chiếu văn bản gốc: thời hạn giải quyết"))
    if not procedure.documents_confirmed:
        items.append(Finding("review", file, "documents", "Cần đối chiếu văn bản gốc: thành phần hồ sơ"))
    return items


def review(kb: KnowledgeBase) -> list[tuple[Procedure, list[Finding]]]:
    """Procedures with something to confirm, each with its items (procedures in title order)."""
    listed = [(procedure, review_items(procedure)) for procedure in kb.procedures]
    return sorted(((p, items) for p, items in listed if items), key=lambda pair: pair[0].title)


__all__ = [
    "STALE_AFTER_DAYS",
    "Finding",
    "check",
    "check_procedure",
    "cited_numbers",
    "document_number",
    "review",
    "review_items",
]
