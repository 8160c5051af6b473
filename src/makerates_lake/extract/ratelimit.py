"""A client-side sliding-window rate limiter, one window per source, safe across threads.

A sliding window (not a token bucket) because providers count calls in fixed periods:
no window of ``period_s`` seconds may ever hold more than ``calls`` acquisitions. The
clock and the sleep are injectable so tests can prove this with a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """Allows at most ``calls`` acquisitions in any ``period_s`` window.

    Args:
        calls: Calls allowed per window (positive).
        period_s: Window length in seconds (positive).
        clock: Monotonic clock in seconds.
        sleep: Blocks the calling thread for the given seconds.

    Raises:
        ValueError: ``calls`` or ``period_s`` is not positive.
    """

    def __init__(
        self,
        calls: int,
        period_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if calls <= 0 or period_s <= 0:
            raise ValueError("calls and period_s must be positive")
        self.calls = calls
        self.period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def try_acquire(self) -> float:
        """Take a slot if one is free.

        Returns:
            0.0 when the slot was taken, else the seconds until one frees up.
        """
        with self._lock:
            now = self._clock()
            while self._stamps and self._stamps[0] <= now - self.period_s:
                self._stamps.popleft()
            if len(self._stamps) < self.calls:
                self._stamps.append(now)
                return 0.0
            return max(self._stamps[0] + self.period_s - now, 1e-6)

    def acquire(self) -> None:
        """Block until a slot is free, then take it."""
        # Sleep outside the lock so other threads can keep checking; whoever wakes
        # first when a slot frees takes it, the others wait again.
        while (wait := self.try_acquire()) > 0:
            self._sleep(wait)


class RateLimiters:
    """One :class:`RateLimiter` per source name, created on first use.

    Args:
        calls: Calls per window for every source.
        period_s: Window length in seconds.
        clock: Clock shared by all limiters.
        sleep: Sleep shared by all limiters.
    """

    def __init__(
        self,
        calls: int,
        period_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._args = (calls, period_s)
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def for_source(self, source_name: str) -> RateLimiter:
        """The limiter of one source."""
        with self._lock:
            limiter = self._limiters.get(source_name)
            if limiter is None:
                limiter = RateLimiter(*self._args, clock=self._clock, sleep=self._sleep)
                self._limiters[source_name] = limiter
            return limiter
