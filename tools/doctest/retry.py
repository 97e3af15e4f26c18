"""The doctest's one retry loop: an example marked `retry=N` runs again until it passes, for
N seconds at most (never a bare `sleep` in a page)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Between two attempts: short at first (most waits end within a second or two: a Pod gets
# its address, an endpoint appears), then growing to PAUSE, so that a long wait does not
# hammer the cluster (pages run side by side, every attempt starts a kubectl).
FIRST_PAUSE = 0.25
GROWTH = 1.5
PAUSE = 2.0
# However little of retry= is left, an attempt gets this long (or its whole timeout, if
# shorter): a command cut after a few milliseconds would report a timeout, not its output.
LAST_CHANCE = 10.0


@dataclass(frozen=True)
class Outcome(Generic[T]):
    result: T  # the last attempt's
    passed: bool
    attempts: int
    limit: float  # the time limit the last attempt had
    waited: float = 0.0  # seconds spent in the pauses between attempts


def attempt_limit(timeout: float, deadline: float | None, retry: float | None = None) -> float:
    """Time for one attempt: the example's timeout, within what retry= leaves, except that
    an attempt still gets a fair chance (LAST_CHANCE) when little of retry= is left.

    And no attempt takes more than a third of retry= (LAST_CHANCE at least): one that hangs
    (a `curl` without a time limit to a Service whose rules are not there yet) is stopped
    and tried again, as the reader would press Ctrl-C and run it again, instead of using up
    the whole of retry= and failing."""
    if deadline is None:
        return timeout
    share = max(LAST_CHANCE, retry / 3) if retry else float("inf")
    left = min(deadline - time.monotonic(), share)
    return min(timeout, max(left, min(timeout, LAST_CHANCE)))


def until_passed(
    attempt: Callable[[float], T],
    passed: Callable[[T], bool],
    *,
    timeout: float,
    retry: float | None,
    hopeless: Callable[[T], bool] = lambda _: False,
    cancel: threading.Event | None = None,
) -> Outcome[T]:
    """Run `attempt(time_limit)` until `passed(result)`; without `retry`, once.

    No attempt starts after retry= has run out, so an example takes retry= seconds at most,
    plus what its last attempt needs.  A `hopeless` result (the shell had to be killed), or
    `cancel` being set (the run is interrupted), ends the retries at once."""
    deadline = time.monotonic() + retry if retry else None
    attempts = 0
    waited = 0.0
    while True:
        attempts += 1
        limit = attempt_limit(timeout, deadline, retry)
        result = attempt(limit)
        if passed(result):
            return Outcome(result, True, attempts, limit, waited)
        if deadline is None or hopeless(result) or (cancel is not None and cancel.is_set()):
            return Outcome(result, False, attempts, limit, waited)
        t = time.monotonic()
        if t >= deadline:
            return Outcome(result, False, attempts, limit, waited)
        pause = min(PAUSE, FIRST_PAUSE * GROWTH ** (attempts - 1), deadline - t)
        interrupted = cancel.wait(pause) if cancel is not None else time.sleep(pause)
        waited += time.monotonic() - t
        if interrupted:
            return Outcome(result, False, attempts, limit, waited)
