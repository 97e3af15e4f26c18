"""Running one example in the page's shell: a bash block as a whole, a console block command
by command with its output compared, each retried as its directive says."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from tools.doctest import failures
from tools.doctest.matcher import Comparison, compare
from tools.doctest.parser import Block, ConsoleCommand
from tools.doctest.render import RenderedPage
from tools.doctest.retry import Outcome, until_passed
from tools.doctest.shell import BashSession, RunResult
from tools.doctest.update import Updates


@dataclass
class Attempts:
    """How many times the example's commands ran, whether --update rewrote it, and how long
    its commands took when they last ran (`command`): the rest of its time was waiting
    (attempts that did not pass yet, pauses between them, timeouts)."""

    count: int = 0
    updated: bool = False
    command: float = 0.0

    def add(self, outcome: Outcome[RunResult] | Outcome[tuple[RunResult, Comparison]]) -> None:
        self.count += outcome.attempts
        result = outcome.result
        last = result[0] if isinstance(result, tuple) else result
        if not last.timed_out:
            self.command += last.duration


def as_reader_sees(output: str, namespace: str | None) -> str:
    """Readers work in `default`; the doctest works in its page namespace.  Output that names
    the namespace (DNS names, `kubectl describe`) is compared as the reader's."""
    if namespace:
        output = re.sub(rf"(?<![\w-]){re.escape(namespace)}(?![\w-])", "default", output)
    return output


def run_bash(
    shell: BashSession,
    page: RenderedPage,
    block: Block,
    timeout: float,
    attempts: Attempts,
    cancel: threading.Event | None = None,
) -> str | None:
    """Run a bash block (its first failing command fails it); the failure message or None.
    `cancel` set: the run is interrupted, the block is stopped."""
    outcome = until_passed(
        lambda limit: shell.run(block.script, limit, strict=True, cancel=cancel),
        lambda r: r.status == 0 and not r.timed_out and not r.interrupted,
        timeout=timeout,
        retry=block.directive.retry,
        hopeless=lambda r: r.shell_lost,
        cancel=cancel,
    )
    attempts.add(outcome)
    if outcome.passed:
        return None
    return failures.bash_failure(page, block, outcome.result, outcome.limit, outcome.attempts)


def run_console(
    shell: BashSession,
    page: RenderedPage,
    block: Block,
    *,
    timeout: float,
    vary: frozenset[str],
    namespace: str | None,
    attempts: Attempts,
    updates: Updates | None,
    cancel: threading.Event | None = None,
) -> str | None:
    """Run each `$` command of a console block and compare its output with the page's;
    with `updates` (--update), a mismatch is planned as an edit of the page instead."""
    for cmd in block.commands:
        outcome = _run_command(shell, block, cmd, timeout, vary, namespace, cancel)
        attempts.add(outcome)
        if outcome.passed:
            continue
        r, cmp = outcome.result
        if updates is not None and not r.timed_out and not r.interrupted:
            updates.plan(page, block, cmd, cmp.updated)
            attempts.updated = True
            continue
        return failures.console_failure(page, block, cmd, r, cmp, outcome.limit, outcome.attempts)
    return None


def _run_command(
    shell: BashSession,
    block: Block,
    cmd: ConsoleCommand,
    timeout: float,
    vary: frozenset[str],
    namespace: str | None,
    cancel: threading.Event | None,
) -> Outcome[tuple[RunResult, Comparison]]:
    # An expected error message is what the reader sees, but a command with no (or only
    # elided) expected output must succeed.
    shows_output = any(ln.strip() and ln.strip() != "..." for ln in cmd.output)
    expected = "\n".join(cmd.output)

    def attempt(limit: float) -> tuple[RunResult, Comparison]:
        r = shell.run(cmd.command, limit, strict=False, cancel=cancel)
        return r, compare(expected, as_reader_sees(r.output, namespace), vary)

    def passed(result: tuple[RunResult, Comparison]) -> bool:
        r, cmp = result
        return (
            cmp.matched
            and not r.timed_out
            and not r.interrupted
            and (r.status == 0 or shows_output)
        )

    return until_passed(
        attempt,
        passed,
        timeout=timeout,
        retry=block.directive.retry,
        hopeless=lambda result: result[0].shell_lost,
        cancel=cancel,
    )
