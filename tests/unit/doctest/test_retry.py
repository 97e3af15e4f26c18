"""The one retry loop: retry= examples run again until they pass, within their bound."""

from __future__ import annotations

import threading

import pytest

from tools.doctest import retry
from tools.doctest.retry import until_passed


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "PAUSE", 0.01)
    monkeypatch.setattr(retry, "FIRST_PAUSE", 0.01)


def test_without_retry_one_attempt_with_the_whole_timeout() -> None:
    limits: list[float] = []
    outcome = until_passed(
        lambda limit: limits.append(limit) or 1, lambda r: r == 0, timeout=60, retry=None
    )
    assert (outcome.passed, outcome.attempts, limits) == (False, 1, [60])


def test_retry_until_it_passes() -> None:
    results = iter([1, 1, 0])
    outcome = until_passed(lambda limit: next(results), lambda r: r == 0, timeout=60, retry=30)
    assert (outcome.passed, outcome.attempts, outcome.result) == (True, 3, 0)


def test_retry_stops_at_its_bound_and_the_last_attempt_keeps_a_fair_chance() -> None:
    limits: list[float] = []
    outcome = until_passed(
        lambda limit: limits.append(limit) or 1, lambda r: r == 0, timeout=60, retry=0.05
    )
    assert not outcome.passed and outcome.attempts >= 2
    assert limits[-1] == retry.LAST_CHANCE  # not the few milliseconds retry= leaves


def test_a_hopeless_result_ends_the_retries() -> None:
    outcome = until_passed(
        lambda limit: "lost", lambda r: False, timeout=60, retry=30, hopeless=lambda r: r == "lost"
    )
    assert (outcome.passed, outcome.attempts) == (False, 1)


def test_an_interrupted_run_ends_the_retries() -> None:
    cancel = threading.Event()
    cancel.set()
    outcome = until_passed(lambda limit: 1, lambda r: r == 0, timeout=60, retry=30, cancel=cancel)
    assert (outcome.passed, outcome.attempts) == (False, 1)


def test_pauses_start_short_and_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(retry, "PAUSE", 2.0)
    monkeypatch.setattr(retry, "FIRST_PAUSE", 0.25)
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    results = iter([1] * 8 + [0])
    outcome = until_passed(lambda limit: next(results), lambda r: r == 0, timeout=60, retry=300)
    assert outcome.passed and outcome.attempts == 9
    assert slept[:3] == [0.25, 0.375, 0.5625] and slept[-1] == 2.0
    assert slept == sorted(slept)


def test_a_hung_attempt_leaves_room_for_others() -> None:
    # A curl to a Service whose rules were not there yet hung for the whole retry=30.
    limits: list[float] = []
    results = iter(["hung", "hung", "ok"])

    def attempt(limit: float) -> str:
        limits.append(limit)
        return next(results)

    outcome = until_passed(attempt, lambda r: r == "ok", timeout=60, retry=30)
    assert outcome.passed and outcome.attempts == 3
    assert limits[0] == 10.0  # a third of retry=30
    assert until_passed(lambda limit: limit, lambda r: True, timeout=60, retry=300).result == 60
