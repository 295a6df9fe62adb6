"""What both fakes share: recorded calls, failure rules, and waiting for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One request the fake received (also the ones it answered with an error)."""

    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    error: Any = None  # what the fake answered instead of success (status code or platform error code)
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Rule:
    """Answer matching requests with a failure, `times` times (None: until removed)."""

    match: dict[str, str | None]
    response: dict[str, Any]
    status: int = 200
    times: int | None = 1
    delay: float = 0.0

    def applies(self, values: dict[str, str | None]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return all(want is None or values.get(key) == want for key, want in self.match.items())


class Recorder:
    """Records calls, applies failure rules, and lets tests wait for conditions."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.rules: list[Rule] = []
        self._changed = asyncio.Event()

    def _rule_for(self, values: dict[str, str | None]) -> Rule | None:
        for rule in self.rules:
            if rule.applies(values):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until `condition()` holds (checked on every recorded call and every 50 ms)."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout} s; {len(self.calls)} calls recorded")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(0.05, remaining))


async def wait_until(
    condition: Callable[[], bool] | Callable[[], Awaitable[bool]], timeout: float = 15.0, interval: float = 0.02
) -> None:
    """Poll `condition` (sync or async) until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
