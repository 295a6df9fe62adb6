"""Loading and validating the knowledge base from its directory of YAML (or JSON) files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.models import Department, GeneralEntry, Procedure, Replacement

BUNDLED_PATH = Path(__file__).resolve().parent / "data"
_SUFFIXES = (".yaml", ".yml", ".json")
M = TypeVar("M", bound=BaseModel)

# The C loader is several times faster; fall back to the pure-Python one when PyYAML was built without it.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Problem(NamedTuple):
    """One validation problem: which file, which field (dotted path, "" for the whole file), and why."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.reason}"


class KnowledgeBaseError(Exception):
    """The knowledge base did not load; `problems` lists every (file, field, reason) found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(problem) for problem in problems[:20]]
        if len(problems) > 20:
            lines.append(f"... and {len(problems) - 20} more")
        super().__init__(f"{len(problems)} problem(s) in the knowledge base:\n" + "\n".join(lines))


@dataclass
class KnowledgeBase:
    """Departments, procedures and general entries, with lookup by id."""

    departments: list[Department]
    procedures: list[Procedure]
    general: list[GeneralEntry]
    path: Path | None = None
    # Legal documents replaced by others (knowledge/data/replaced.yaml), for `motcua kb check`.
    replaced: list[Replacement] = field(default_factory=list)
    _procedures_by_id: dict[str, Procedure] = field(init=False, repr=False)
    _departments_by_id: dict[str, Department] = field(init=False, repr=False)
    _general_by_id: dict[str, GeneralEntry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._procedures_by_id = {p.id: p for p in self.procedures}
        self._departments_by_id = {d.id: d for d in self.departments}
        self._general_by_id = {g.id: g for g in self.general}

    def procedure(self, procedure_id: str) -> Procedure | None:
        """The procedure with this id, or None."""
        return self._procedures_by_id.get(procedure_id)

    def department(self, department_id: str) -> Department | None:
        """The department with this id, or None."""
        return self._departments_by_id.get(department_id)

    def general_entry(self, entry_id: str) -> GeneralEntry | None:
        """The general entry with this id, or None."""
        return self._general_by_id.get(entry_id)

    def department_name(self, department_id: str) -> str:
        """Display name of a department (its id when unknown)."""
        department = self.department(department_id)
        return department.name if department else department_id


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def _loc(parts: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in parts)


_FIELD_PREFIX = re.compile(r"^([a-z_][a-z0-9_.]*): (.+)$", re.DOTALL)


def _validation_problems(file: str, error: ValidationError) -> list[Problem]:
    """One problem per pydantic error, with reasons a centre's editor can act on."""
    problems = []
    for item in error.errors():
        reason = item["msg"].removeprefix("Value error, ")
        location = list(item["loc"])
        # Checks across fields name the field they are about: "fees.0.amount: is null, ...".
        prefixed = _FIELD_PREFIX.match(reason)
        if prefixed:
            location.append(prefixed.group(1))
            reason = prefixed.group(2)
        if item["type"] == "extra_forbidden":
            reason = "unknown field (check the spelling against knowledge/FORMAT.md)"
        elif item["type"] == "missing":
            reason = "required field is missing"
        elif item["type"] == "string_type" and isinstance(item.get("input"), dict):
            reason = 'must be text, but YAML read a mapping: the text contains ": "; put the whole text in quotes'
        elif item["type"] == "string_type" and isinstance(item.get("input"), int | float):
            reason = f'must be text; write it in quotes ("{item["input"]}")'
        problems.append(Problem(file, _loc(location), reason))
    return problems


def _parse(model: type[M], data: Any, file: str, problems: list[Problem]) -> M | None:
    if data is _UNREADABLE:
        return None
    if not isinstance(data, dict):
        problems.append(Problem(file, "", f"must be a mapping of fields, found {type(data).__name__}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems.extend(_validation_problems(file, error))
        return None


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in _SUFFIXES)


_UNREADABLE = object()


def _load_file(path: Path, file: str, problems: list[Problem]) -> Any:
    """The parsed file, or `_UNREADABLE` after recording why it could not be parsed."""
    try:
        return _read(path)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        problems.append(Problem(file, "", "not valid YAML/JSON: " + " ".join(str(error).split())))
    except UnicodeDecodeError:
        problems.append(Problem(file, "", "not UTF-8 text"))
    return _UNREADABLE


M_ROW = TypeVar("M_ROW", Department, Replacement)


def _load_rows(
    root: Path, stem: str, model: type[M_ROW], problems: list[Problem], *, required: bool, what: str
) -> tuple[str, list[tuple[int, M_ROW]]]:
    """The file's name and its rows (`<stem>.yaml`, a list), each validated as `model`, with its index."""
    path = next((root / f"{stem}{s}" for s in _SUFFIXES if (root / f"{stem}{s}").is_file()), None)
    if path is None:
        if required:
            problems.append(Problem(f"{stem}.yaml", "", "file not found"))
        return f"{stem}.yaml", []
    data = _load_file(path, path.name, problems)
    if data is _UNREADABLE:
        return path.name, []
    if not isinstance(data, list):
        problems.append(Problem(path.name, "", f"must be a list of {what}"))
        return path.name, []
    rows: list[tuple[int, M_ROW]] = []
    for index, item in enumerate(data):
        try:
            rows.append((index, model.model_validate(item)))
        except ValidationError as error:
            for problem in _validation_problems(path.name, error):
                problems.append(problem._replace(field=_loc([index, problem.field]).rstrip(".")))
    return path.name, rows


def _load_departments(root: Path, problems: list[Problem]) -> list[Department]:
    departments: list[Department] = []
    seen: set[str] = set()
    name, rows = _load_rows(root, "departments", Department, problems, required=True, what="departments")
    for index, department in rows:
        if department.id in seen:
            problems.append(Problem(name, f"{index}.id", f"duplicate id {department.id!r}"))
            continue
        seen.add(department.id)
        departments.append(department)
    return departments


def _load_replaced(root: Path, problems: list[Problem]) -> list[Replacement]:
    """The optional table of replaced documents."""
    what = "{replaced, replacement, from}"
    _, rows = _load_rows(root, "replaced", Replacement, problems, required=False, what=what)
    return [row for _, row in rows]


def load_knowledge_base(path: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base at `path` (default: the bundled one).

    Raises `KnowledgeBaseError` listing every problem found, so a centre can fix them all in one go.
    """
    root = Path(path) if path is not None else BUNDLED_PATH
    if not root.is_dir():
        raise KnowledgeBaseError([Problem(str(root), "", "knowledge base directory not found")])
    problems: list[Problem] = []
    departments = _load_departments(root, problems)
    department_ids = {d.id for d in departments}
    replaced = _load_replaced(root, problems)

    procedures: list[Procedure] = []
    seen_ids: dict[str, str] = {}
    seen_codes: dict[str, str] = {}
    for file_path in _files(root / "procedures"):
        file = f"procedures/{file_path.name}"
        procedure = _parse(Procedure, _load_file(file_path, file, problems), file, problems)
        if procedure is None:
            continue
        if procedure.id != file_path.stem:
            problems.append(Problem(file, "id", f"id {procedure.id!r} must equal the file name {file_path.stem!r}"))
            continue
        if department_ids and procedure.department not in department_ids:
            problems.append(
                Problem(file, "department", f"unknown department {procedure.department!r} (see departments.yaml)")
            )
            continue
        if procedure.code and procedure.code in seen_codes:
            problems.append(
                Problem(file, "code", f"code {procedure.code!r} is also used by {seen_codes[procedure.code]}")
            )
            continue
        if procedure.code:
            seen_codes[procedure.code] = file
        seen_ids[procedure.id] = file
        procedures.append(procedure)

    general: list[GeneralEntry] = []
    for file_path in _files(root / "general"):
        file = f"general/{file_path.name}"
        entry = _parse(GeneralEntry, _load_file(file_path, file, problems), file, problems)
        if entry is None:
            continue
        if entry.id != file_path.stem:
            problems.append(Problem(file, "id", f"id {entry.id!r} must equal the file name {file_path.stem!r}"))
            continue
        if entry.id in seen_ids:
            problems.append(Problem(file, "id", f"id {entry.id!r} is also used by {seen_ids[entry.id]}"))
            continue
        seen_ids[entry.id] = file
        general.append(entry)

    if problems:
        raise KnowledgeBaseError(problems)
    return KnowledgeBase(departments=departments, procedures=procedures, general=general, path=root, replaced=replaced)


__all__ = ["BUNDLED_PATH", "KnowledgeBase", "KnowledgeBaseError", "Problem", "load_knowledge_base"]
