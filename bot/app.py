"""The application factory: `create_app(settings)` builds everything; nothing happens at import."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from bot import keys
from bot.api import setup_api
from bot.http import auth_middleware, drop_server_header, error_middleware, json_response
from bot.logs import hold_back_payload_loggers
from bot.metrics import create_metrics
from bot.settings import Settings
from knowledge import CentreInfo, KnowledgeBase, Matcher, load_knowledge_base
from knowledge.loader import BUNDLED_PATH
from storage.calendar import WorkingCalendar
from storage.catalogue import DepartmentSpec, ProcedureSpec, sync_catalogue
from storage.db import create_engine, create_sessionmaker, ping
from storage.dossiers import DossierService
from storage.migrate import upgrade
from storage.models import InboxUpdate, OutboxMessage, utcnow
from storage.state import create_state_store

log = logging.getLogger(__name__)
HEALTH_TIMEOUT = 2.0
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")

# Feature set-ups that add their own cleanup contexts and routes (channels, outbox, scheduler, journeys,
# reports, dashboard). Each is `setup_x(app)`; adding a feature is one line here.
FEATURE_SETUPS: list[str] = [
    "bot.channels.setup:setup_channels",
    "bot.journeys:setup_journeys",
    "bot.scheduler:setup_scheduler",
    "bot.reports:setup_reports",
    "bot.dashboard:setup_dashboard",
]


def create_calendar(settings: Settings) -> WorkingCalendar:
    return WorkingCalendar.create(settings.timezone, settings.working_hours, settings.calendar_overrides_file)


def centre_info(settings: Settings) -> CentreInfo:
    """The centre's contact facts as the knowledge base's answers quote them."""
    return CentreInfo(
        name=settings.centre_name,
        address=settings.centre_address,
        hotline=settings.centre_hotline,
        working_hours=create_calendar(settings).hours.describe_vi(),
        portal_url=settings.portal_url,
        provincial_hotline=settings.provincial_hotline,
    )


def load_knowledge(settings: Settings) -> tuple[KnowledgeBase, Matcher]:
    """The knowledge base and its matcher (built once per process for the same files and centre)."""
    path = Path(settings.knowledge_base_path) if settings.knowledge_base_path else BUNDLED_PATH
    return _load_knowledge_cached(path, _tree_signature(path), centre_info(settings))


@functools.lru_cache(maxsize=4)
def _load_knowledge_cached(
    path: Path, signature: tuple[object, ...], centre: CentreInfo
) -> tuple[KnowledgeBase, Matcher]:
    # Both are immutable once built; the signature changes whenever a file is added, removed or edited.
    del signature
    kb = load_knowledge_base(path)
    return kb, Matcher(kb, centre)


def _tree_signature(root: Path) -> tuple[object, ...]:
    entries: list[object] = []
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            stat = os.stat(os.path.join(folder, name))
            entries.append((folder, name, stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(entries, key=str))


def catalogue_specs(kb: KnowledgeBase) -> tuple[list[DepartmentSpec], list[ProcedureSpec]]:
    departments = [DepartmentSpec(id=d.id, name=d.name, short_name=d.short_name, level=d.level) for d in kb.departments]
    procedures = [
        ProcedureSpec(
            id=p.id,
            code=p.code,
            title=p.title,
            department_id=p.department,
            processing_days=p.processing_time.days,
        )
        for p in kb.procedures
    ]
    return departments, procedures


async def setup_database(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    app[keys.ENGINE] = engine
    app[keys.SESSIONMAKER] = create_sessionmaker(engine)
    try:
        if settings.auto_migrate:
            await migrate_and_sync(app)
        yield
    finally:
        await engine.dispose()


async def migrate_and_sync(app: web.Application) -> None:
    """Bring the schema to head and the catalogue in line with the knowledge base, once across replicas."""
    engine = app[keys.ENGINE]
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(7401001)"))
            try:
                await upgrade(engine)
                await _sync(app)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(7401001)"))
    else:
        await upgrade(engine)
        await _sync(app)


async def _sync(app: web.Application) -> None:
    departments, procedures = catalogue_specs(app[keys.KB])
    async with app[keys.SESSIONMAKER].begin() as session:
        report = await sync_catalogue(session, departments, procedures)
    log.info("catalogue synchronised from the knowledge base: %s", report.summary())


async def setup_state(app: web.Application) -> AsyncIterator[None]:
    store = create_state_store(app[keys.SETTINGS].redis_url)
    app[keys.STATE] = store
    try:
        yield
    finally:
        await store.close()


async def setup_context(app: web.Application) -> AsyncIterator[None]:
    """The handlers' explicit dependencies, once the database and the state store are open."""
    from bot.channels.registry import display_names
    from handlers.base import Context

    app[keys.CONTEXT] = Context(
        settings=app[keys.SETTINGS],
        sessionmaker=app[keys.SESSIONMAKER],
        state=app[keys.STATE],
        kb=app[keys.KB],
        matcher=app[keys.MATCHER],
        calendar=app[keys.CALENDAR],
        clock=app[CLOCK],
        dossiers=app[keys.DOSSIERS],
        channel_names=display_names(),
    )
    yield


async def healthz(request: web.Request) -> web.Response:
    """200 when the database (and Redis, when configured) answer; 503 with the reason otherwise."""
    app = request.app
    checks: dict[str, str] = {}
    healthy = True
    try:
        await asyncio.wait_for(ping(app[keys.ENGINE]), HEALTH_TIMEOUT)
        checks["database"] = "ok"
    except Exception as exc:
        healthy = False
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if app[keys.SETTINGS].redis_url:
        try:
            await asyncio.wait_for(app[keys.STATE].ping(), HEALTH_TIMEOUT)
            checks["redis"] = "ok"
        except Exception as exc:
            healthy = False
            checks["redis"] = f"unavailable: {type(exc).__name__}"
    # What features report (e.g. a dead Zalo refresh token): shown, "degraded", but the replica still serves.
    degraded = False
    for check in app.get(keys.HEALTH_CHECKS, []):
        name, problem = check()
        checks[name] = problem or "ok"
        degraded = degraded or problem is not None
    status = "unavailable" if not healthy else "degraded" if degraded else "ok"
    return json_response({"status": status, "checks": checks}, 200 if healthy else 503)


async def metrics_endpoint(request: web.Request) -> web.Response:
    app = request.app
    metrics = app[keys.METRICS]
    try:
        async with app[keys.SESSIONMAKER]() as session:
            for model, gauge in ((OutboxMessage, metrics.outbox_rows), (InboxUpdate, metrics.inbox_rows)):
                rows = await asyncio.wait_for(
                    session.execute(select(model.status, func.count()).group_by(model.status)), HEALTH_TIMEOUT
                )
                gauge.clear()
                for status, count in rows:
                    gauge.labels(status=status).set(count)
    except Exception as exc:  # the counters still make sense without the database
        log.warning("metrics: database gauges skipped: %s", type(exc).__name__)
    body = generate_latest(app[keys.REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _import_setup(path: str) -> Callable[[web.Application], None] | None:
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None  # the feature is not part of this build
        raise
    setup: Callable[[web.Application], None] = getattr(module, attr)
    return setup


def create_app(settings: Settings, *, clock: Clock = utcnow) -> web.Application:
    """Build the web application and its resources (opened on start-up, closed on clean-up)."""
    hold_back_payload_loggers()  # no personal data or tokens from third-party DEBUG/INFO logs
    for warning in settings.startup_warnings():
        log.warning("settings: %s", warning)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware, auth_middleware])
    app.on_response_prepare.append(drop_server_header)
    app[keys.SETTINGS] = settings
    app[CLOCK] = clock
    registry = CollectorRegistry()
    app[keys.REGISTRY] = registry
    app[keys.METRICS] = create_metrics(registry)
    calendar = create_calendar(settings)
    app[keys.CALENDAR] = calendar
    kb, matcher = load_knowledge(settings)
    app[keys.KB] = kb
    app[keys.MATCHER] = matcher
    service = DossierService(
        calendar, code_pattern=settings.dossier_code_pattern, centre_code=settings.centre_code, clock=clock
    )
    app[keys.DOSSIERS] = service
    app[keys.DOSSIER_HOOKS] = service.hooks  # features append hooks (receipts, status messages)
    app.cleanup_ctx.append(setup_database)
    app.cleanup_ctx.append(setup_state)
    app.cleanup_ctx.append(setup_context)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    setup_api(app)
    for path in FEATURE_SETUPS:
        setup = _import_setup(path)
        if setup is not None:
            setup(app)
    return app
