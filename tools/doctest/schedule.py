"""Pages at the same time: each page runs ahead in a thread of its own (its own bash session,
namespace and kubeconfig already keep pages apart), and pages marked `page exclusive` run
alone, after the others.

pytest still runs the examples one after the other, in page order: each example's test
waits for its page's thread to reach it, then reports what it found.  The terminal, the
report and the order of everything in them are the same as in a serial run, whatever the
order in which pages finish.  The run mostly waits (Pods starting, retries), so threads in
one process, not processes, are what overlap it: pytest-xdist's workers each import and
render everything again and compete with the cluster for the CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tools.doctest.page import PageRuntime
    from tools.doctest.parser import Block

# What a page's thread found for one example: how it ended and its message.
PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


class PageJob:
    """One page run ahead: its examples' outcomes as they come, for pytest to collect."""

    def __init__(self, runtime: PageRuntime, blocks: list[Block]):
        self.runtime = runtime
        self.blocks = blocks  # the examples pytest will ask for, in page order
        self._outcomes: dict[int, tuple[str, str | None]] = {}
        self._end: tuple[str, str | None] | None = None
        self._changed = threading.Condition()
        self.thread: threading.Thread | None = None
        self.started = threading.Event()
        self.done = threading.Event()

    @property
    def exclusive(self) -> bool:
        return self.runtime.parsed.page.exclusive

    def run(self) -> None:
        """The page, whole: its examples, its end (cleanup, checks), its close."""
        self.started.set()
        rt = self.runtime
        try:
            for block in self.blocks:
                try:
                    message = rt.evaluate(block)
                    outcome = (FAILED if message else PASSED, message)
                except pytest.skip.Exception as exc:
                    outcome = (SKIPPED, str(exc.msg))
                except Exception as exc:  # the harness itself: said, not lost in a thread
                    outcome = (ERROR, f"{type(exc).__name__}: {exc}")
                self._put(block.start, outcome)
            try:
                end = (PASSED, rt.finish())
            except Exception as exc:
                end = (ERROR, f"{type(exc).__name__}: {exc}")
            self._put_end(end)
        finally:
            try:
                rt.close_now()
            finally:
                self._give_up("the page's thread ended")
                self.done.set()

    def never(self, reason: str) -> None:
        """The page will not run (the run stopped before its turn)."""
        for block in self.blocks:
            self._put(block.start, (SKIPPED, reason))
        self._put_end((PASSED, None))
        self.done.set()

    def _put(self, start: int, outcome: tuple[str, str | None]) -> None:
        with self._changed:
            self._outcomes.setdefault(start, outcome)
            self._changed.notify_all()

    def _put_end(self, outcome: tuple[str, str | None]) -> None:
        with self._changed:
            if self._end is None:
                self._end = outcome
            self._changed.notify_all()

    def _give_up(self, why: str) -> None:
        """Whatever was not reached gets an outcome, so that nobody waits for ever."""
        for block in self.blocks:
            self._put(block.start, (ERROR, f"not reached: {why}"))
        self._put_end((PASSED, None))

    def outcome(self, block: Block) -> str | None:
        """Wait for the example's outcome and give it as pytest expects it."""
        with self._changed:
            self._changed.wait_for(lambda: block.start in self._outcomes)
            status, message = self._outcomes[block.start]
        return _replay(status, message)

    def end(self) -> str | None:
        with self._changed:
            self._changed.wait_for(lambda: self._end is not None)
            assert self._end is not None
            status, message = self._end
        return _replay(status, message)


def _replay(status: str, message: str | None) -> str | None:
    if status == SKIPPED:
        raise skip_at_example(message or "skipped")
    if status == ERROR:
        return f"doctest harness error: {message}"
    return message


class Scheduler:
    """Runs the jobs: up to `width` shared pages at a time, then each exclusive page alone.
    `stop` set: no page starts any more (the pages that run stop themselves)."""

    def __init__(
        self,
        jobs: list[PageJob],
        width: int,
        stop: threading.Event,
        why_stopped: Callable[[], str],
    ):
        self.jobs = jobs
        self.width = max(1, width)
        self.stop = stop
        self.why_stopped = why_stopped
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="doctest-scheduler", daemon=True
        )

    def start(self) -> None:
        self._dispatcher.start()

    def _dispatch(self) -> None:
        shared = [j for j in self.jobs if not j.exclusive]
        exclusive = [j for j in self.jobs if j.exclusive]
        running: list[PageJob] = []
        for job in shared:
            while len(running) >= self.width and not self.stop.is_set():
                self._wait_any(running)
                running = [j for j in running if not j.done.is_set()]
            if not self._launch(job):
                break
            running.append(job)
        for job in running:
            job.done.wait()
        for job in exclusive:
            if not self._launch(job):
                break
            job.done.wait()
        for job in self.jobs:
            if job.thread is None:
                job.never(f"not run: {self.why_stopped()}")

    def _launch(self, job: PageJob) -> bool:
        if self.stop.is_set():
            return False
        name = f"doctest-{job.runtime.rel}"
        job.thread = threading.Thread(target=job.run, name=name, daemon=True)
        job.thread.start()
        return True

    @staticmethod
    def _wait_any(running: list[PageJob]) -> None:
        while not any(j.done.wait(0.05) for j in running):
            pass

    def join(self) -> None:
        self._dispatcher.join()
        for job in self.jobs:
            job.done.wait()

    def unfinished(self) -> bool:
        return any(not job.done.is_set() for job in self.jobs)


def skip_at_example(reason: str) -> BaseException:
    """The exception that skips the running example."""
    # Reported at the example's page and line (`SKIPPED … docs/fr/…md:42: reason`), not at
    # this file; `_use_item_location` is how pytest's own skip marks do it.
    try:
        return pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # an older pytest
        return pytest.skip.Exception(reason)
