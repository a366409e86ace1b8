"""Per-user rate limits: a sliding window of recent messages per user, in memory."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Allows `limit` messages per user in any `window` seconds."""

    def __init__(
        self, limit: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._warned: dict[str, float] = {}

    def check(self, user: str) -> float:
        """0 when the user may go on; else the seconds until they may."""
        now = self.clock()
        times = self._seen.setdefault(user, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return self.window - (now - times[0])
        times.append(now)
        if len(self._seen) > 10_000:
            self._forget(now)
        return 0.0

    def should_warn(self, user: str) -> bool:
        """Say "slow down" once per window, not once per message."""
        now = self.clock()
        if now - self._warned.get(user, -self.window) >= self.window:
            self._warned[user] = now
            return True
        return False

    def _forget(self, now: float) -> None:
        for user in [u for u, t in self._seen.items() if not t or now - t[-1] >= self.window]:
            del self._seen[user]
            self._warned.pop(user, None)
