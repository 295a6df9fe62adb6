"""`motcua serve`: the webhook server, the HTTP API, the workers and the scheduler."""

from __future__ import annotations

import argparse
import gc
import logging

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="run the webhook server, the API, the workers and the scheduler")
    parser.add_argument("--host", help="listen address (default: HOST)")
    parser.add_argument("--port", type=int, help="listen port (default: PORT)")
    parser.set_defaults(func=run)


def startup_banner(host: str, port: int) -> str:
    """Where the service listens and where the dashboard is: the real address, whatever HOST/PORT say."""
    shown = f"[{host}]" if ":" in host else host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else shown
    base = f"http://{shown}:{port}"
    return (
        f"motcua-bot on {base} (listening on {host}:{port})\n"
        f"  dashboard: {base}/dashboard — sign in with an admin or officer API key "
        "(motcua apikey create --role admin --name 'Quản trị')\n"
        f"  API: {base}/api/v1/ (document: {base}/api/v1/openapi.json) · health: {base}/healthz\n"
        "  talk to the bot from another terminal: motcua chat"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    log.info("motcua serving on http://%s:%s (database %s)", host, port, settings.database_url.split("://")[0])
    print(startup_banner(host, port), flush=True)
    app = create_app(settings)
    # What start-up built (modules, the knowledge base and its index: ~200k objects) lives as long as the
    # process: keep it out of the collector, whose full passes over it would pause every request ~90 ms.
    gc.freeze()
    web.run_app(app, host=host, port=port, access_log=None, print=None)
    return 0
