"""Typed records of the knowledge base, mirroring `knowledge/FORMAT.md` field for field."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PLACEHOLDERS = ("centre_name", "centre_address", "centre_hotline", "working_hours", "portal_url")

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


class Document(_Record):
    """One item of the dossier (thành phần hồ sơ)."""

    name: StrictStr = Field(min_length=1)
    copies: int | None = Field(default=1, ge=0)
    kind: Literal["original", "copy", "certified_copy", "either", "electronic"] | None = None
    note: StrictStr | None = None


class ProcessingTime(_Record):
    """Thời hạn giải quyết."""

    days: int | None = Field(default=None, ge=0)
    unit: Literal["working_days", "days"] = "working_days"
    text: StrictStr | None = None

    @model_validator(mode="after")
    def _explained_when_open(self) -> ProcessingTime:
        if self.days is None and not self.text:
            raise ValueError("days: is null, so give the rule in text")
        return self


class Fee(_Record):
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


class LegalBasis(_Record):
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
    steps: list[StrictStr] = Field(min_length=1)
    processing_time: ProcessingTime
    conditions: list[StrictStr] = []
    fees: list[Fee]
    fees_note: StrictStr | None = None
    where: Where
    forms: list[Form] = []
    legal_basis: list[LegalBasis] = Field(min_length=1)
    uncertain: list[StrictStr] = []
    faq: list[FaqItem] = []

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        return _check_slug(value)

    @model_validator(mode="after")
    def _fees_never_invented(self) -> Procedure:
        for index, fee in enumerate(self.fees):
            if fee.amount is None and not (fee.note or self.fees_note or self.uncertain):
                raise ValueError(
                    f"fees.{index}.amount: is null, so say in note or fees_note who sets it (never invent an "
                    "amount), or list the doubt in uncertain"
                )
        return self

    @property
    def is_free(self) -> bool:
        return not self.fees


class GeneralEntry(_Record):
    """A general question about the centre (address, hours, portal, payment, ...)."""

    id: StrictStr
    title: StrictStr = Field(min_length=1)
    aliases: list[StrictStr] = []
    answer: StrictStr = Field(min_length=1)
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


class CentreInfo(BaseModel):
    """The centre's own contact facts, from the settings; filled into general answers and fallbacks."""

    model_config = ConfigDict(frozen=True)

    name: str = "Trung tâm Phục vụ hành chính công tỉnh"
    address: str = ""
    hotline: str = "1022"
    working_hours: str = "Mon-Fri 07:30-11:30,13:30-17:00"
    portal_url: str = "https://dichvucong.gov.vn"


__all__ = [
    "CentreInfo",
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
    "Where",
]
