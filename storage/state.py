"""Short-lived state behind one ABC: conversation steps, dedup keys, rate limits and locks.

`MemoryStateStore` serves a single process (the embedded default); `RedisStateStore` is shared by every
replica. Shaped like aiogram's FSM storages: a key builder, TTLs, `from_url`, `close`.
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from typing import Any

from redis.asyncio import Redis

JsonValue = Any


class KeyBuilder:
    """`motcua:<part>:<part>…` — one prefix so several services can share a Redis."""

    def __init__(self, prefix: str = "motcua") -> None:
        self.prefix = prefix

    def build(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])


class StateStore(ABC):
    """Key-value state with expiry shared by the handlers, the channels and the scheduler."""

    def __init__(self, key_builder: KeyBuilder | None = None) -> None:
        self.keys = key_builder or KeyBuilder()

    @abstractmethod
    async def get(self, key: str) -> JsonValue | None:
        """The JSON value under `key`, or None."""

    @abstractmethod
    async def set(self, key: str, value: JsonValue, ttl: float | None = None) -> None:
        """Store a JSON value, expiring after `ttl` seconds when given."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget `key`."""

    @abstractmethod
    async def set_if_absent(self, key: str, value: JsonValue, ttl: float | None = None) -> bool:
        """Store only when absent; True when this call stored it (dedup, locks)."""

    @abstractmethod
    async def incr(self, key: str, ttl: float) -> int:
        """Increment a counter; the first increment starts its `ttl` window (fixed-window rate limits)."""

    @abstractmethod
    async def reserve_slot(self, key: str, interval: float, horizon: float, now: float) -> tuple[bool, float]:
        """Pace events `interval` seconds apart (GCRA): reserve the next free slot when it is less than
        `horizon` seconds ahead of `now` (epoch seconds). Returns (True, seconds until the reserved slot) or
        (False, seconds until the last slot reserved so far) — nothing is reserved then."""

    @abstractmethod
    async def release_if_value(self, key: str, value: JsonValue) -> bool:
        """Delete `key` only while it still holds `value` (release a lock this holder owns)."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise when the backend cannot answer."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to release in memory
        """Release connections."""

    async def acquire_lock(self, name: str, ttl: float) -> str | None:
        """A lease on `name` for `ttl` seconds; returns the token to release it, or None when held."""
        token = uuid.uuid4().hex
        if await self.set_if_absent(self.keys.build("lock", name), token, ttl):
            return token
        return None

    async def release_lock(self, name: str, token: str) -> None:
        await self.release_if_value(self.keys.build("lock", name), token)

    async def hit_rate_limit(self, name: str, limit: int, window_seconds: float) -> bool:
        """Count one event; True when the window already holds more than `limit` events."""
        count = await self.incr(self.keys.build("rate", name), window_seconds)
        return count > limit


class MemoryStateStore(StateStore):
    """In-process state; expiry is checked lazily on access."""

    def __init__(self, key_builder: KeyBuilder | None = None) -> None:
        super().__init__(key_builder)
        self._data: dict[str, tuple[str, float | None]] = {}

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        raw, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return raw

    @staticmethod
    def _expiry(ttl: float | None) -> float | None:
        return None if ttl is None else time.monotonic() + ttl

    async def get(self, key: str) -> JsonValue | None:
        raw = self._live(key)
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: JsonValue, ttl: float | None = None) -> None:
        self._data[key] = (json.dumps(value), self._expiry(ttl))

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def set_if_absent(self, key: str, value: JsonValue, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._data[key] = (json.dumps(value), self._expiry(ttl))
        return True

    async def incr(self, key: str, ttl: float) -> int:
        raw = self._live(key)
        if raw is None:
            self._data[key] = ("1", self._expiry(ttl))
            return 1
        count = int(json.loads(raw)) + 1
        self._data[key] = (json.dumps(count), self._data[key][1])
        return count

    async def reserve_slot(self, key: str, interval: float, horizon: float, now: float) -> tuple[bool, float]:
        raw = self._live(key)
        slot = max(float(json.loads(raw)) if raw is not None else now, now)
        if slot - now >= horizon:
            return False, slot - now
        self._data[key] = (json.dumps(slot + interval), self._expiry(slot + interval - now + 1.0))
        return True, slot - now

    async def release_if_value(self, key: str, value: JsonValue) -> bool:
        raw = self._live(key)
        if raw is not None and json.loads(raw) == value:
            del self._data[key]
            return True
        return False

    async def ping(self) -> None:
        return None


_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""
_INCR_SCRIPT = """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return n
"""

# KEYS[1] holds the next free slot (epoch seconds); ARGV: interval, horizon, now.
_SLOT_SCRIPT = """
local interval, horizon, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local slot = tonumber(redis.call('get', KEYS[1]) or '0')
if slot < now then slot = now end
if slot - now >= horizon then return {0, tostring(slot - now)} end
redis.call('set', KEYS[1], string.format('%.6f', slot + interval), 'PX', math.ceil((slot + interval - now + 1) * 1000))
return {1, tostring(slot - now)}
"""


class RedisStateStore(StateStore):
    """State in Redis, shared by every replica."""

    def __init__(self, redis: Redis, key_builder: KeyBuilder | None = None) -> None:
        super().__init__(key_builder)
        self.redis = redis

    @classmethod
    def from_url(cls, url: str, key_builder: KeyBuilder | None = None) -> RedisStateStore:
        redis = Redis.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2, health_check_interval=10
        )
        return cls(redis, key_builder)

    async def get(self, key: str) -> JsonValue | None:
        raw = await self.redis.get(key)
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: JsonValue, ttl: float | None = None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        await self.redis.set(key, json.dumps(value), px=px)

    async def delete(self, key: str) -> None:
        await self.redis.delete(key)

    async def set_if_absent(self, key: str, value: JsonValue, ttl: float | None = None) -> bool:
        px = None if ttl is None else max(1, int(ttl * 1000))
        return bool(await self.redis.set(key, json.dumps(value), px=px, nx=True))

    async def incr(self, key: str, ttl: float) -> int:
        return int(await self.redis.eval(_INCR_SCRIPT, 1, key, str(max(1, int(ttl * 1000)))))

    async def reserve_slot(self, key: str, interval: float, horizon: float, now: float) -> tuple[bool, float]:
        reserved, delay = await self.redis.eval(_SLOT_SCRIPT, 1, key, repr(interval), repr(horizon), repr(now))
        return bool(reserved), float(delay)

    async def release_if_value(self, key: str, value: JsonValue) -> bool:
        result = await self.redis.eval(_RELEASE_SCRIPT, 1, key, json.dumps(value))
        return bool(result)

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()


def create_state_store(redis_url: str | None, prefix: str = "motcua") -> StateStore:
    """Redis when a URL is given, else in-process memory."""
    keys = KeyBuilder(prefix)
    if redis_url:
        return RedisStateStore.from_url(redis_url, keys)
    return MemoryStateStore(keys)
