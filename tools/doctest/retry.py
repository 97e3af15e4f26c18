"""The doctest's one retry loop: an example marked `retry=N` runs again until it passes, for
N seconds at most (never a bare `sleep` in a page)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Between two attempts: long enough not to hammer the cluster, short enough to notice soon.
PAUSE = 2.0
# However little of retry= is left, the last attempt gets this long (or its whole timeout).
LAST_CHANCE = 10.0


@dataclass(frozen=True)
class Outcome(Generic[T]):
    result: T  # the last attempt's
    passed: bool
    attempts: int
    limit: float  # the time limit the last attempt had


def attempt_limit(timeout: float, deadline: float | None) -> float:
    """Time for one attempt: the example's timeout, within what retry= leaves, except that
    the last attempt still gets a fair chance even if it overruns retry=."""
    if deadline is None:
        return timeout
    return min(timeout, max(deadline - time.monotonic(), min(timeout, LAST_CHANCE)))


def until_passed(
    attempt: Callable[[float], T],
    passed: Callable[[T], bool],
    *,
    timeout: float,
    retry: float | None,
    hopeless: Callable[[T], bool] = lambda _: False,
) -> Outcome[T]:
    """Run `attempt(time_limit)` until `passed(result)`; without `retry`, once. A `hopeless`
    result (the shell had to be killed) ends the retries at once."""
    deadline = time.monotonic() + retry if retry else None
    attempts = 0
    while True:
        attempts += 1
        limit = attempt_limit(timeout, deadline)
        result = attempt(limit)
        if passed(result):
            return Outcome(result, True, attempts, limit)
        if deadline is None or time.monotonic() >= deadline or hopeless(result):
            return Outcome(result, False, attempts, limit)
        time.sleep(min(PAUSE, max(0.0, deadline - time.monotonic())))
