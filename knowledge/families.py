"""Sibling knowledge: which procedures form a family, which one is the ordinary case, the one question that
tells them apart, and the words that rule a procedure out.

It lives in `families.yaml` next to the procedures (see the file's own header for the format) so that the
matcher decides between siblings from data, never from rules written for one question. `motcua kb check`
validates it against the knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator, model_validator

from knowledge.loader import KnowledgeBase, KnowledgeBaseError, Problem
from knowledge.normalize import Normalized, canonical_syllable, fold, normalize, tokenize

FILE_NAME = "families.yaml"
_SET_PREFIX = "$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OptionSpec(_Strict):
    """One member of a family: the button label that names it and the words that point to it."""

    label: StrictStr = Field(min_length=1, max_length=60)
    words: list[StrictStr] = Field(default_factory=list)


class FamilySpec(_Strict):
    """A family of sibling procedures."""

    question: StrictStr = Field(min_length=5)
    default: StrictStr | None = None
    options: dict[str, OptionSpec] = Field(min_length=2)

    @model_validator(mode="after")
    def _default_is_a_member(self) -> FamilySpec:
        if self.default is not None and self.default not in self.options:
            raise ValueError(f"default {self.default!r} is not one of the options")
        return self


class FamiliesSpec(_Strict):
    """The whole file."""

    word_sets: dict[str, list[StrictStr]] = Field(default_factory=dict)
    families: dict[str, FamilySpec] = Field(default_factory=dict)
    ruled_out: dict[str, list[StrictStr]] = Field(default_factory=dict)

    @field_validator("word_sets")
    @classmethod
    def _sets_not_empty(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, words in value.items():
            if not words:
                raise ValueError(f"word set {name!r} is empty")
        return value


Phrase = tuple[str, ...]  # canonical accented syllables


@dataclass(frozen=True, slots=True)
class Option:
    procedure_id: str
    label: str
    words: tuple[Phrase, ...]


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    question: str
    default: str | None
    options: tuple[Option, ...]

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(option.procedure_id for option in self.options)

    def option(self, procedure_id: str) -> Option | None:
        return next((option for option in self.options if option.procedure_id == procedure_id), None)


class Families:
    """Families by id, the family of each procedure, and the words that rule each procedure out."""

    def __init__(
        self, families: tuple[Family, ...] = (), ruled_out: tuple[tuple[str, tuple[Phrase, ...]], ...] = ()
    ) -> None:
        self.families = families
        self.ruled_out = ruled_out
        self._by_member: dict[str, Family] = {}
        for family in families:
            for member in family.members:
                self._by_member.setdefault(member, family)
        self._ruled_out = dict(ruled_out)

    def family_of(self, procedure_id: str) -> Family | None:
        return self._by_member.get(procedure_id)

    def family(self, family_id: str | None) -> Family | None:
        return next((family for family in self.families if family.id == family_id), None)

    def ruled_out_words(self, procedure_id: str) -> tuple[Phrase, ...]:
        return self._ruled_out.get(procedure_id, ())

    def restricted_to(self, known: set[str]) -> Families:
        """Only what concerns procedures of this knowledge base (a family keeps two known members or more)."""
        families = []
        for family in self.families:
            options = tuple(option for option in family.options if option.procedure_id in known)
            if len(options) >= 2:
                default = family.default if family.default in known else None
                families.append(Family(family.id, family.question, default, options))
        ruled = tuple((pid, words) for pid, words in self.ruled_out if pid in known)
        return Families(tuple(families), ruled)


def _phrase(text: str) -> Phrase:
    return tuple(canonical_syllable(token) for token in tokenize(text))


@lru_cache(maxsize=256)
def _starts(normalized: Normalized) -> dict[str, tuple[int, ...]]:
    """Positions of each folded word of a text (a text is scanned for many phrases)."""
    found: dict[str, list[int]] = {}
    for position, word in enumerate(normalized.folded):
        found.setdefault(word, []).append(position)
    return {word: tuple(places) for word, places in found.items()}


def find_phrase(normalized: Normalized, phrase: Phrase, start: int = 0) -> int:
    """Where `phrase` first occurs in the normalised text from `start` (typed with its diacritics, or with
    none), or -1."""
    size = len(phrase)
    if not size:
        return -1
    accented, folded = normalized.accented, normalized.folded
    folded_phrase = tuple(fold(word) for word in phrase)
    for position in _starts(normalized).get(folded_phrase[0], ()):
        if position < start or folded[position : position + size] != folded_phrase:
            continue
        if all(
            accented[position + k] == word or accented[position + k] == folded[position + k]
            for k, word in enumerate(phrase)
        ):
            return position
    return -1


def has_any(normalized: Normalized, phrases: tuple[Phrase, ...]) -> bool:
    """Whether any of the phrases occurs in the normalised text."""
    return any(find_phrase(normalized, phrase) >= 0 for phrase in phrases)


def _expand(words: list[str], sets: dict[str, list[str]], where: str, problems: list[Problem]) -> tuple[Phrase, ...]:
    out: list[Phrase] = []
    for word in words:
        if word.startswith(_SET_PREFIX):
            name = word[len(_SET_PREFIX) :]
            if name not in sets:
                problems.append(Problem(FILE_NAME, where, f"unknown word set {word!r}"))
                continue
            out.extend(_phrase(item) for item in sets[name])
        else:
            phrase = _phrase(word)
            if not phrase:
                problems.append(Problem(FILE_NAME, where, f"{word!r} has no words"))
                continue
            # the same normalisation as a question, so an abbreviation in the data reads as typed
            out.append(tuple(normalize(" ".join(phrase)).accented))
    return tuple(dict.fromkeys(out))


def parse_families(data: Any) -> tuple[Families, list[Problem]]:
    """Families from the parsed YAML, and the problems found (structure, unknown word sets)."""
    problems: list[Problem] = []
    if data is None:
        return Families(), problems
    try:
        spec = FamiliesSpec.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"])
            problems.append(Problem(FILE_NAME, where, item["msg"]))
        return Families(), problems
    families: list[Family] = []
    seen: dict[str, str] = {}
    for family_id, family in spec.families.items():
        options = []
        for procedure_id, option in family.options.items():
            where = f"families.{family_id}.options.{procedure_id}"
            if procedure_id in seen:
                problems.append(Problem(FILE_NAME, where, f"already a member of family {seen[procedure_id]!r}"))
            seen[procedure_id] = family_id
            options.append(Option(procedure_id, option.label, _expand(option.words, spec.word_sets, where, problems)))
        families.append(Family(family_id, family.question, family.default, tuple(options)))
    ruled = tuple(
        (procedure_id, _expand(words, spec.word_sets, f"ruled_out.{procedure_id}", problems))
        for procedure_id, words in spec.ruled_out.items()
    )
    return Families(tuple(families), ruled), problems


def families_path(kb: KnowledgeBase) -> Path | None:
    """Where the knowledge base's families file is, if it has one."""
    if kb.path is None:
        return None
    path = Path(kb.path) / FILE_NAME
    return path if path.is_file() else None


def read_families(path: Path) -> tuple[Families, list[Problem]]:
    """Parse a families file (problems for bad YAML or structure)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return Families(), [Problem(FILE_NAME, "", "not valid YAML: " + " ".join(str(error).split()))]
    return parse_families(data)


def check_families(kb: KnowledgeBase) -> tuple[list[Problem], list[str]]:
    """Problems (structure) and notes (procedure ids this knowledge base does not have) of the families file."""
    path = families_path(kb)
    if path is None:
        return [], []
    families, problems = read_families(path)
    known = {procedure.id for procedure in kb.procedures}
    notes = [
        f"{FILE_NAME}: families.{family.id}: {member} is not in the knowledge base (ignored)"
        for family in families.families
        for member in family.members
        if member not in known
    ]
    notes += [
        f"{FILE_NAME}: ruled_out.{procedure_id}: not in the knowledge base (ignored)"
        for procedure_id, _ in families.ruled_out
        if procedure_id not in known
    ]
    return problems, notes


def load_families(kb: KnowledgeBase) -> Families:
    """The knowledge base's families, restricted to its procedures; none when it has no families file.

    Raises `KnowledgeBaseError` when the file is malformed.
    """
    path = families_path(kb)
    if path is None:
        return Families()
    families, problems = read_families(path)
    if problems:
        raise KnowledgeBaseError(problems)
    return families.restricted_to({procedure.id for procedure in kb.procedures})


__all__ = [
    "Families",
    "Family",
    "Option",
    "check_families",
    "find_phrase",
    "has_any",
    "load_families",
    "parse_families",
]
