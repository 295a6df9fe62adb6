"""Typed keys of the resources `create_app` stores on the aiohttp application."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.settings import Settings
from storage.apikeys import Principal
from storage.calendar import WorkingCalendar
from storage.db import SessionMaker
from storage.dossiers import DossierHook, DossierService
from storage.state import StateStore

if TYPE_CHECKING:
    from handlers.base import Context
    from knowledge import KnowledgeBase, Matcher

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", SessionMaker)
STATE = web.AppKey("state", StateStore)
CALENDAR = web.AppKey("calendar", WorkingCalendar)
DOSSIERS = web.AppKey("dossiers", DossierService)
DOSSIER_HOOKS = web.AppKey("dossier_hooks", list[DossierHook])
REGISTRY = web.AppKey("registry", CollectorRegistry)
METRICS = web.AppKey("metrics", Metrics)
KB: web.AppKey[KnowledgeBase] = web.AppKey("kb")
MATCHER: web.AppKey[Matcher] = web.AppKey("matcher")
CONTEXT: web.AppKey[Context] = web.AppKey("context")

PRINCIPAL = web.RequestKey("principal", Principal)

# Health reports of features for `/healthz`: each returns (name, None when fine, else what is wrong).
HealthCheck = Callable[[], tuple[str, str | None]]
HEALTH_CHECKS: web.AppKey[list[HealthCheck]] = web.AppKey("health_checks")

__all__ = [
    "CALENDAR",
    "HEALTH_CHECKS",
    "CONTEXT",
    "DOSSIERS",
    "DOSSIER_HOOKS",
    "ENGINE",
    "KB",
    "MATCHER",
    "METRICS",
    "PRINCIPAL",
    "REGISTRY",
    "SESSIONMAKER",
    "SETTINGS",
    "STATE",
    "Principal",
]
