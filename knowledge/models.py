"""Typed records of the knowledge base, mirroring `knowledge/FORMAT.md` field for field."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PLACEHOLDERS = (
    "centre_name",
    "centre_address",
    "centre_hotline",
    "working_hours",
    "portal_url",
    "provincial_hotline",
)

Level = Literal["provincial", "commune"]


def _nfc(value: Any) -> Any:
    """Normalise every string (recursively) to NFC and strip it; the format promises NFC text."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, list):
        return [_nfc(item) for item in value]
    if isinstance(value, dict):
        return {key: _nfc(item) for key, item in value.items()}
    return value


class _Record(BaseModel):
    """Base of every record: unknown fields are errors (a typo in a field name must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _normalise_text(cls, data: Any) -> Any:
        return _nfc(data)


def _check_slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError("must be a slug of lowercase letters, digits and hyphens (e.g. dang-ky-ket-hon)")
    return value


class Department(_Record):
    """A department (cơ quan thực hiện) whose dossiers the centre receives."""

    id: StrictStr
    name: StrictStr = Field(min_length=1)
    short_name: StrictStr = Field(min_length=1)
    level: Level
    note: StrictStr | None = None

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        return _check_slug(value)


class _Validity(_Record):
    """A fact that may hold only between two days (both included, Asia/Ho_Chi_Minh)."""

    valid_from: date | None = None
    valid_until: date | None = None

    @model_validator(mode="after")
    def _range_in_order(self) -> _Validity:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until: is before valid_from")
        return self

    def valid_on(self, day: date) -> bool:
        """The fact holds on `day`."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class _Sourced(_Validity):
    """A fact with its legal basis, the day it was checked, and how sure the centre is of it."""

    basis: StrictStr | None = None
    verified: date | None = None
    # The amount (or rule) may differ by province: the provincial council (HĐND) decides.
    local: bool = False
    # False: the fact rests only on a secondary source; officers confirm it (see `review`).
    confirmed: bool = True


class Document(_Validity):
    """One item of the dossier (thành phần hồ sơ)."""

    name: StrictStr = Field(min_length=1)
    copies: int | None = Field(default=1, ge=0)
    kind: Literal["original", "copy", "certified_copy", "either", "electronic"] | None = None
    note: StrictStr | None = None


class ProcessingTime(_Sourced):
    """Thời hạn giải quyết."""

    days: int | None = Field(default=None, ge=0)
    unit: Literal["working_days", "days"] = "working_days"
    text: StrictStr | None = None

    @model_validator(mode="after")
    def _explained_when_open(self) -> ProcessingTime:
        if self.days is None and not self.text:
            raise ValueError("days: is null, so give the rule in text")
        return self


class Fee(_Sourced):
    """One fee or charge (phí, lệ phí); amount null means it is not a fixed national figure."""

    name: StrictStr = Field(min_length=1)
    amount: int | None = Field(ge=0)
    payer: StrictStr | None = None
    note: StrictStr | None = None


class Where(_Record):
    """Where to submit and receive (địa chỉ tiếp nhận, trả kết quả)."""

    submit: list[StrictStr] = Field(min_length=1)
    receive: list[StrictStr] = []
    online: StrictStr | None = None
    postal: bool = False


class Form(_Record):
    """A form to fill in (mẫu đơn, tờ khai)."""

    name: StrictStr = Field(min_length=1)
    code: StrictStr | None = None
    url: StrictStr | None = None


class LegalBasis(_Validity):
    """A legal document the procedure rests on (căn cứ pháp lý)."""

    document: StrictStr = Field(min_length=1)
    articles: StrictStr | None = None


class FaqItem(_Record):
    """An extra question-and-answer pair."""

    q: StrictStr = Field(min_length=1)
    a: StrictStr = Field(min_length=1)


class Procedure(_Record):
    """An administrative procedure (thủ tục hành chính) with the facts the law makes public."""

    id: StrictStr
    code: StrictStr | None = None
    title: StrictStr = Field(min_length=1)
    aliases: list[StrictStr] = []
    department: StrictStr
    level: Level
    field: StrictStr = Field(min_length=1)
    online: Literal["full", "partial", "none"] = "none"
    as_of: date
    summary: StrictStr = Field(min_length=1)
    documents: list[Document] = Field(min_length=1)
    documents_basis: StrictStr | None = None
    documents_verified: date | None = None
    documents_confirmed: bool = True
    steps: list[StrictStr] = Field(min_length=1)
    processing_time: ProcessingTime
    conditions: list[StrictStr] = []
    fees: list[Fee]
    fees_note: StrictStr | None = None
    where: Where
    forms: list[Form] = []
    legal_basis: list[LegalBasis] = Field(min_length=1)
    # Editorial notes for officers only (`motcua kb check --review`, the dashboard's review page).
    review: list[StrictStr] = []
    faq: list[FaqItem] = []

    @model_validator(mode="before")
    @classmethod
    def _uncertain_is_review(cls, data: Any) -> Any:
        """The old key `uncertain` is read as `review` (both may be given; the notes are joined)."""
        if isinstance(data, dict) and "uncertain" in data:
            data = dict(data)
            old = data.pop("uncertain") or []
            new = data.get("review") or []
            if isinstance(old, list) and isinstance(new, list):
                data["review"] = [*new, *old]
            else:
                data["review"] = new or old
        return data

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        return _check_slug(value)

    @model_validator(mode="after")
    def _fees_never_invented(self) -> Procedure:
        for index, fee in enumerate(self.fees):
            if fee.amount is None and not (fee.note or self.fees_note):
                raise ValueError(
                    f"fees.{index}.amount: is null, so say in note or fees_note who sets it (never invent an amount)"
                )
        return self

    @property
    def uncertain(self) -> list[str]:
        """The officers' notes under their old name."""
        return self.review

    @property
    def is_free(self) -> bool:
        return not self.fees

    def fees_on(self, day: date) -> list[Fee]:
        """The fees that hold on `day`."""
        return [fee for fee in self.fees if fee.valid_on(day)]

    def documents_on(self, day: date) -> list[Document]:
        """The documents asked for on `day`."""
        return [document for document in self.documents if document.valid_on(day)]

    def legal_basis_on(self, day: date) -> list[LegalBasis]:
        """The legal documents in force on `day`."""
        return [item for item in self.legal_basis if item.valid_on(day)]

    def time_verified(self) -> date:
        """The day the processing time was last verified."""
        return self.processing_time.verified or self.as_of

    def fee_verified(self, fee: Fee) -> date:
        """The day a fee was last verified."""
        return fee.verified or self.as_of

    def list_verified(self) -> date:
        """The day the documents list was last verified."""
        return self.documents_verified or self.as_of


class DatedLine(_Validity):
    """A line of a general answer that holds only between two days (a temporary waiver, a new rule)."""

    text: StrictStr = Field(min_length=1)


class GeneralEntry(_Record):
    """A general question about the centre (address, hours, portal, payment, ...)."""

    id: StrictStr
    title: StrictStr = Field(min_length=1)
    aliases: list[StrictStr] = []
    answer: StrictStr = Field(min_length=1)
    # Lines added to the answer on the days they hold.
    dated_lines: list[DatedLine] = []
    faq: list[FaqItem] = []

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        return _check_slug(value)

    @field_validator("answer")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        for name in re.findall(r"\{([^{}]*)\}", value):
            if name not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{name}}}; use one of {', '.join(PLACEHOLDERS)}")
        return value


class Replacement(_Record):
    """A legal document replaced by another from a given day (knowledge/data/replaced.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    replaced: StrictStr = Field(min_length=1)
    replacement: StrictStr = Field(min_length=1)
    since: date = Field(alias="from")
    note: StrictStr | None = None
    source: StrictStr | None = None


class CentreInfo(BaseModel):
    """The centre's own contact facts, from the settings; filled into general answers and fallbacks."""

    model_config = ConfigDict(frozen=True)

    name: str = "Trung tâm Phục vụ hành chính công tỉnh"
    address: str = ""
    # The centre's own number ("" when not configured: the sentence that would give it is left out).
    hotline: str = ""
    # Working hours already in Vietnamese ("Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều ...").
    working_hours: str = "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ"
    portal_url: str = "https://dichvucong.gov.vn"
    # The province's line for complaints and petitions (often 24/7, run by the province, not by the centre).
    provincial_hotline: str = "1022"


__all__ = [
    "CentreInfo",
    "DatedLine",
    "Department",
    "Document",
    "FaqItem",
    "Fee",
    "Form",
    "GeneralEntry",
    "LegalBasis",
    "Level",
    "ProcessingTime",
    "Procedure",
    "Replacement",
    "Where",
]
