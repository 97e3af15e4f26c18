"""Ctrl-C and SIGTERM during a run: every page that started cleans up before the run exits.

- First signal: no example starts any more and the running one is stopped (its processes
  killed, its shell kept); each started page then runs its cleanup blocks, puts back what it
  changed outside its namespace and deletes its namespace; pytest then stops with its
  "interrupted" status.
- Second signal: the cleanup is aborted as well; each page says what it leaves on the
  cluster (its namespace keeps the journal from which the next run puts things back).
- Third signal: KeyboardInterrupt, at once.

SIGTERM counts like Ctrl-C: CI cancelling a job sends it, then SIGKILL after a grace period.

The messages must reach the terminal while pytest captures the output of the example that
runs: they go to a duplicate of the real stderr, taken when the pages start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Console:
    """Where live messages go: the terminal's stderr, whatever pytest captures."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self._lock = threading.Lock()

    def open(self, capture_manager: Any | None) -> None:
        """Duplicate the real stderr (pytest's capture suspended for the moment)."""
        if self.fd is not None:
            return
        suspended = (
            capture_manager.global_and_fixture_disabled()
            if capture_manager is not None
            else contextlib.nullcontext()
        )
        with suspended:
            sys.stderr.flush()
            self.fd = os.dup(2)

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def say(self, message: str) -> None:
        data = (message.rstrip("\n") + "\n").encode(errors="replace")
        if self.fd is None:
            sys.__stderr__.write(data.decode())  # type: ignore[union-attr]
            sys.__stderr__.flush()  # type: ignore[union-attr]
            return
        with self._lock, contextlib.suppress(OSError):
            os.write(self.fd, data)


class Interruption:
    """The run's interruption state: `stop` (first signal), `abort` (second)."""

    def __init__(self, say: Callable[[str], None] | None = None) -> None:
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.count = 0
        self.reason = ""
        self.say = say or (lambda message: print(message, file=sys.__stderr__, flush=True))
        self._on_stop: Callable[[str], None] | None = None
        self._previous: dict[int, Any] = {}

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def install(self, on_stop: Callable[[str], None] | None = None) -> None:
        """Handle SIGINT and SIGTERM (main thread only); `on_stop(reason)` at the first."""
        if threading.current_thread() is not threading.main_thread() or self._previous:
            return
        self._on_stop = on_stop
        for sig in SIGNALS:
            # A SIGINT ignored from the start (a command started with `&` by a script) stays
            # ignored: Ctrl-C in that terminal is meant for another command.
            if sig == signal.SIGINT and signal.getsignal(sig) == signal.SIG_IGN:
                continue
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, previous)
        self._previous = {}

    @contextlib.contextmanager
    def installed_for(self, on_stop: Callable[[str], None] | None = None) -> Iterator[None]:
        self.install(on_stop)
        try:
            yield
        finally:
            self.uninstall()

    def trigger(self, reason: str) -> None:
        """The first stage, for another cause than a signal (a crash of the run)."""
        if self.stop.is_set():
            return
        self.reason = reason
        self.stop.set()
        if self._on_stop is not None:
            self._on_stop(reason)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1:
            self.say(
                f"\ndoctest: {name}: stopping; each started page now runs its cleanup blocks, "
                "puts back what it changed and deletes its namespace "
                "(Ctrl-C again to abort the cleanup)"
            )
            self.trigger(f"interrupted by {name}")
        elif self.count == 2:
            self.say(
                f"\ndoctest: {name} again: cleanup aborted; each page says what it leaves "
                "(Ctrl-C again to quit at once)"
            )
            self.abort.set()
        else:
            raise KeyboardInterrupt(name)
