"""One contract, every state backend: memory always, Redis when TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from storage.state import MemoryStateStore, StateStore, create_state_store


@pytest.fixture
async def store(redis_url: str | None) -> AsyncIterator[StateStore]:
    state = create_state_store(redis_url, prefix="motcua-test")
    try:
        yield state
    finally:
        await state.close()


class TestStateStoreContract:
    async def test_get_set_delete(self, store: StateStore) -> None:
        key = store.keys.build("chat", "telegram", "42")
        assert await store.get(key) is None
        await store.set(key, {"step": "rating", "dossier": 7})
        assert await store.get(key) == {"step": "rating", "dossier": 7}
        await store.delete(key)
        assert await store.get(key) is None

    async def test_ttl_expires(self, store: StateStore) -> None:
        key = store.keys.build("ttl")
        await store.set(key, "x", ttl=0.05)
        assert await store.get(key) == "x"
        await asyncio.sleep(0.12)
        assert await store.get(key) is None

    async def test_set_if_absent(self, store: StateStore) -> None:
        key = store.keys.build("dedup", "u1")
        assert await store.set_if_absent(key, 1, ttl=10)
        assert not await store.set_if_absent(key, 2, ttl=10)
        assert await store.get(key) == 1

    async def test_lock_is_exclusive_and_released_by_owner_only(self, store: StateStore) -> None:
        token = await store.acquire_lock("job", ttl=10)
        assert token is not None
        assert await store.acquire_lock("job", ttl=10) is None
        await store.release_lock("job", "not-the-owner")
        assert await store.acquire_lock("job", ttl=10) is None
        await store.release_lock("job", token)
        assert await store.acquire_lock("job", ttl=10) is not None

    async def test_lock_lease_expires(self, store: StateStore) -> None:
        assert await store.acquire_lock("lease", ttl=0.05) is not None
        await asyncio.sleep(0.12)
        assert await store.acquire_lock("lease", ttl=10) is not None

    async def test_reserve_slot_paces_events_and_refuses_beyond_the_horizon(self, store: StateStore) -> None:
        key, now = store.keys.build("pace", "telegram"), 1_000_000.0
        # 4 per second, slots reserved up to 1 s ahead: four go (at 0, ¼, ½, ¾ s), the fifth is refused.
        results = [await store.reserve_slot(key, interval=0.25, horizon=1.0, now=now) for _ in range(5)]
        assert [r[0] for r in results] == [True, True, True, True, False]
        assert [round(r[1], 6) for r in results] == [0.0, 0.25, 0.5, 0.75, 1.0]
        # Later the slots behind the clock are gone: the next one is at `now`, not in the past.
        assert await store.reserve_slot(key, interval=0.25, horizon=1.0, now=now + 0.6) == (True, pytest.approx(0.4))
        assert await store.reserve_slot(key, interval=0.25, horizon=1.0, now=now + 10) == (True, 0.0)
        # Any one-second span holds at most 4 reserved slots, however the calls are spread.
        other, slots = store.keys.build("pace", "sms"), []
        for step in range(40):
            t = now + step * 0.1
            ok, delay = await store.reserve_slot(other, interval=0.25, horizon=1.0, now=t)
            if ok:
                slots.append(t + delay)
        assert max(sum(s <= x < s + 1.0 for x in slots) for s in slots) == 4

    async def test_rate_limit_fixed_window(self, store: StateStore) -> None:
        results = [await store.hit_rate_limit("lookup:chat1", limit=3, window_seconds=60) for _ in range(5)]
        assert results == [False, False, False, True, True]
        # Another chat has its own window.
        assert not await store.hit_rate_limit("lookup:chat2", limit=3, window_seconds=60)

    async def test_ping(self, store: StateStore) -> None:
        await store.ping()


def test_memory_is_default() -> None:
    assert isinstance(create_state_store(None), MemoryStateStore)
