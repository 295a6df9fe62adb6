"""Departments and procedures in the store, synchronised from the knowledge base.

A procedure removed from the knowledge base is deactivated, never deleted, so old dossiers keep pointing
at it; the knowledge base's processing time drives new dossiers' appointment dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Department, Procedure, utcnow


@dataclass(frozen=True)
class DepartmentSpec:
    id: str
    name: str
    short_name: str | None
    level: str


@dataclass(frozen=True)
class ProcedureSpec:
    id: str
    code: str | None
    title: str
    department_id: str
    processing_days: int | None


@dataclass
class SyncReport:
    departments_added: int = 0
    departments_updated: int = 0
    departments_deactivated: int = 0
    procedures_added: int = 0
    procedures_updated: int = 0
    procedures_deactivated: int = 0

    def summary(self) -> str:
        return (
            f"departments: +{self.departments_added} ~{self.departments_updated} -{self.departments_deactivated}; "
            f"procedures: +{self.procedures_added} ~{self.procedures_updated} -{self.procedures_deactivated}"
        )


async def sync_catalogue(
    session: AsyncSession, departments: Iterable[DepartmentSpec], procedures: Iterable[ProcedureSpec]
) -> SyncReport:
    """Make the store's departments and procedures match the given lists."""
    report = SyncReport()
    existing_depts = {d.id: d for d in (await session.execute(select(Department))).scalars()}
    wanted_depts = {d.id: d for d in departments}
    for spec in wanted_depts.values():
        row = existing_depts.get(spec.id)
        if row is None:
            session.add(Department(id=spec.id, name=spec.name, short_name=spec.short_name, level=spec.level))
            report.departments_added += 1
        elif (row.name, row.short_name, row.level, row.active) != (spec.name, spec.short_name, spec.level, True):
            row.name, row.short_name, row.level, row.active = spec.name, spec.short_name, spec.level, True
            report.departments_updated += 1
    for dept_id, row in existing_depts.items():
        if dept_id not in wanted_depts and row.active:
            row.active = False
            report.departments_deactivated += 1
    await session.flush()

    existing = {p.id: p for p in (await session.execute(select(Procedure))).scalars()}
    wanted = {p.id: p for p in procedures}
    now = utcnow()
    for pspec in wanted.values():
        prow = existing.get(pspec.id)
        values = (pspec.code, pspec.title, pspec.department_id, pspec.processing_days, True)
        if prow is None:
            session.add(
                Procedure(
                    id=pspec.id,
                    code=pspec.code,
                    title=pspec.title,
                    department_id=pspec.department_id,
                    processing_days=pspec.processing_days,
                    active=True,
                    updated_at=now,
                )
            )
            report.procedures_added += 1
        elif (prow.code, prow.title, prow.department_id, prow.processing_days, prow.active) != values:
            prow.code, prow.title, prow.department_id, prow.processing_days, prow.active = values
            prow.updated_at = now
            report.procedures_updated += 1
    for proc_id, prow in existing.items():
        if proc_id not in wanted and prow.active:
            prow.active = False
            prow.updated_at = now
            report.procedures_deactivated += 1
    await session.flush()
    return report
