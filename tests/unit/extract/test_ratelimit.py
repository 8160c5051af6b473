"""The sliding-window limiter, proved with a fake clock instead of sleeping."""

from __future__ import annotations

import threading

import pytest

from makerates_lake.extract.ratelimit import RateLimiter, RateLimiters


class FakeClock:
    """A clock that only moves when a thread 'sleeps' (to the end of its own wait)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()
        self.sleeps = 0

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps += 1
            self.now = max(self.now, self.now + seconds)


def test_holds_100_calls_per_60s_under_8_threads() -> None:
    """8 threads taking 400 slots never get more than 100 in any 60 s window, and no fewer."""
    clock = FakeClock()
    limiter = RateLimiter(100, 60.0, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            limiter.acquire()
            with lock:
                stamps.append(clock())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 400
    # Any 101 consecutive calls span at least a full window.
    assert all(stamps[i + 100] - stamps[i] >= 60.0 for i in range(len(stamps) - 100))
    # Not over-restrictive: the first 100 go at once, then 100 per window.
    assert stamps[99] == 0.0
    assert clock.sleeps > 0


def test_try_acquire_reports_the_wait() -> None:
    """When the window is full, try_acquire says how long until the oldest call expires."""
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    assert limiter.try_acquire() == 0.0
    clock.now = 4.0
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() == pytest.approx(6.0)
    clock.now = 10.0
    assert limiter.try_acquire() == 0.0


def test_each_source_has_its_own_window() -> None:
    """One source's calls do not use up another's."""
    clock = FakeClock()
    limiters = RateLimiters(1, 60.0, clock=clock, sleep=clock.sleep)
    assert limiters.for_source("a").try_acquire() == 0.0
    assert limiters.for_source("b").try_acquire() == 0.0
    assert limiters.for_source("a").try_acquire() > 0
    assert limiters.for_source("a") is limiters.for_source("a")


@pytest.mark.parametrize(("calls", "period"), [(0, 60.0), (10, 0.0), (-1, 1.0)])
def test_rejects_non_positive_limits(calls: int, period: float) -> None:
    """A limit of zero or less is refused."""
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(calls, period)
