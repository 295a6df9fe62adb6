"""Failed API-key attempts, counted per client and shared by every replica (the state store).

A key carries 256 random bits, so guessing one is hopeless; the limit is for a client that keeps presenting
wrong keys (a leaked list, an integration looping on a revoked key): after `AUTH_FAIL_LIMIT` failures within
a window of `AUTH_FAIL_WINDOW_SECONDS` it gets 429 with `Retry-After` until the window ends — the right key
included — at the cost of one state-store call per try instead of a database query and a log line.

The client is the connecting address, or, when that is one of `TRUSTED_PROXIES` (nginx in front), the
nearest address in `X-Forwarded-For` that is not a trusted proxy. An address outside the trusted list cannot
name another client by sending the header. When the state store is unreachable the guard steps aside: the
keys are still checked.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from functools import lru_cache

from aiohttp import web

from bot import keys
from storage.errors import is_unavailable

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES`: addresses or networks, separated by commas or spaces (bad entries are errors)."""
    return tuple(ipaddress.ip_network(part, strict=False) for part in spec.replace(",", " ").split())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request, networks: tuple[Network, ...]) -> str:
    """Who is asking: the peer, or behind trusted proxies the first untrusted hop of X-Forwarded-For."""
    peer = request.remote or "unknown"
    if not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed header: count against the proxy's own address
    return peer


def _window(request: web.Request) -> tuple[str, float]:
    """The state key of this client's current window and the seconds until the window ends."""
    settings = request.app[keys.SETTINGS]
    length = max(1, settings.auth_fail_window_seconds)
    now = time.time()
    index = int(now // length)
    client = client_address(request, trusted_networks(settings.trusted_proxies))
    return request.app[keys.STATE].keys.build("auth", "fail", client, index), (index + 1) * length - now


async def locked_out(request: web.Request) -> int | None:
    """Seconds this client must wait before presenting a key again, or None when it may try now."""
    key, left = _window(request)
    try:
        count = await request.app[keys.STATE].get(key)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("auth guard: state store unavailable (%s); not limiting", type(exc).__name__)
        return None
    if isinstance(count, int) and count >= request.app[keys.SETTINGS].auth_fail_limit:
        return max(1, int(left + 0.999))
    return None


async def count_failure(request: web.Request) -> None:
    key, left = _window(request)
    try:
        count = await request.app[keys.STATE].incr(key, ttl=left + 1)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return
    if count == request.app[keys.SETTINGS].auth_fail_limit:
        log.warning("auth guard: %d failed key attempts from one client; refusing it for %.0f s", count, left)


__all__ = ["client_address", "count_failure", "locked_out", "trusted_networks"]
