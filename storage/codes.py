"""Dossier codes: generation from a configurable pattern and tolerant parsing of what people type."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
# Something that looks like a dossier code inside a sentence: letters/digits with separators, ≥ 6 digits.
_CODE_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_/ ]{4,78}[A-Za-z0-9]")
_ALLOWED_FIELDS = {"centre", "yymmdd", "yyyymmdd", "yyyy", "mm", "dd", "seq", "department"}


class CodePatternError(ValueError):
    """DOSSIER_CODE_PATTERN uses an unknown field or no sequence."""


def code_key(text: str) -> str:
    """Reduce a code as typed ('tthcc 261122 0001', 'TTHCC-261122-0001') to its lookup key."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub("", folded.upper())


def validate_pattern(pattern: str) -> None:
    fields = set(re.findall(r"{(\w+)(?::[^}]*)?}", pattern))
    unknown = fields - _ALLOWED_FIELDS
    if unknown:
        raise CodePatternError(f"DOSSIER_CODE_PATTERN uses unknown fields {sorted(unknown)}")
    if "seq" not in fields:
        raise CodePatternError("DOSSIER_CODE_PATTERN must contain {seq}")


def format_code(pattern: str, *, centre: str, day: date, seq: int, department: str = "") -> str:
    """Fill the pattern, e.g. `{centre}-{yymmdd}-{seq:04d}` → `TTHCC-261122-0001`."""
    return pattern.format(
        centre=centre,
        yymmdd=day.strftime("%y%m%d"),
        yyyymmdd=day.strftime("%Y%m%d"),
        yyyy=day.strftime("%Y"),
        mm=day.strftime("%m"),
        dd=day.strftime("%d"),
        seq=seq,
        department=department.upper(),
    )


def code_prefix(pattern: str, *, centre: str, day: date, department: str = "") -> str:
    """The part of a generated code before the sequence (for finding the day's last number)."""
    head = pattern.split("{seq", 1)[0]
    return head.format(
        centre=centre,
        yymmdd=day.strftime("%y%m%d"),
        yyyymmdd=day.strftime("%Y%m%d"),
        yyyy=day.strftime("%Y"),
        mm=day.strftime("%m"),
        dd=day.strftime("%d"),
        department=department.upper(),
    )


def candidate_keys(text: str) -> list[str]:
    """Code keys a free-text message may contain, longest first ('tra cứu HS tthcc-261122-0001 ạ')."""
    keys: list[str] = []
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    for match in _CODE_LIKE.finditer(folded):
        chunk = match.group(0)
        words = chunk.split()
        # Try every run of consecutive words: people type spaces inside codes and words around them.
        for i in range(len(words)):
            for j in range(len(words), i, -1):
                key = code_key("".join(words[i:j]))
                if sum(c.isdigit() for c in key) >= 6 and 6 <= len(key) <= 40 and key not in keys:
                    keys.append(key)
    keys.sort(key=len, reverse=True)
    return keys


# The characters real codes use (as printed on receipts and in other systems): ASCII letters and digits,
# separated by single `-`, `_`, `/` or `.`; first and last a letter or digit. No markup, formula, control
# character, space or path step (`<img …>`, `=cmd|…`, CRLF, `../`) gets in.
_VALID_CODE = re.compile(r"^[A-Za-z0-9](?:[-_/.]?[A-Za-z0-9])*$")
MAX_CODE_CHARS = 40


def is_valid_code(code: str) -> bool:
    """True for a code of 1–40 characters of the allowed kind."""
    return len(code) <= MAX_CODE_CHARS and bool(_VALID_CODE.match(code))
