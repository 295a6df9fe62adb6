"""The HTTP API under `/api/v1/`; each module adds its routes and their OpenAPI description."""

from __future__ import annotations

from aiohttp import web

from bot.api import catalogue, dossiers, openapi

# One line per API module; a new feature adds its module here.
API_MODULES = [openapi, dossiers, catalogue]


def setup_api(app: web.Application) -> None:
    for module in API_MODULES:
        module.setup_routes(app)
