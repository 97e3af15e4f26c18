"""Failure messages: the page, the line and the cause, with the output that explains it."""

from __future__ import annotations

import re

from tools.doctest.matcher import Comparison
from tools.doctest.parser import Block, ConsoleCommand
from tools.doctest.render import RenderedPage
from tools.doctest.shell import RunResult

SHELL_LOST = "(the page's shell had to be killed: its variables and directory are lost)"


def tries(block: Block, attempts: int) -> str:
    retry = block.directive.retry
    if not retry or attempts <= 1:
        return ""
    return f" (still failing after {attempts} attempts in {retry:g} s, retry={retry:g})"


def output(text: str, limit: int = 60) -> str:
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    if not lines:
        return "output: (none)"
    if len(lines) > limit:
        lines = [*lines[: limit // 2], f"[… {len(lines) - limit} lines …]", *lines[-limit // 2 :]]
    return "output:\n" + "\n".join("  | " + ln for ln in lines)


def located(page: RenderedPage, r: RunResult, first: int) -> str:
    """bash names the temporary block file in its messages: name the page line instead."""
    if r.script is None:
        return r.output
    pattern = re.compile(re.escape(str(r.script)) + r": line (\d+):")
    return pattern.sub(lambda m: page.where(first + int(m.group(1))) + ":", r.output)


def bash_failure(
    page: RenderedPage, block: Block, r: RunResult, limit: float, attempts: int
) -> str:
    where = page.where(block.start)
    more = tries(block, attempts)
    if r.timed_out:
        head = f"{where}: timeout after {limit:g} s{more} in page {page.rel(page.source)}"
    else:
        head = f"{where}: command failed with exit status {r.status}{more}"
    if r.failed_command is not None and r.failed_line is not None:
        line = block.start + r.failed_line
        head += f"\n  at {page.where(line)}: {r.failed_command}"
    if r.shell_lost:
        head += "\n  " + SHELL_LOST
    return head + "\n" + output(located(page, r, block.start))


def console_failure(
    page: RenderedPage,
    block: Block,
    cmd: ConsoleCommand,
    r: RunResult,
    cmp: Comparison,
    limit: float,
    attempts: int,
) -> str:
    where = page.where(cmd.line)
    more = tries(block, attempts)
    first = cmd.command.splitlines()[0] if cmd.command else ""
    if r.timed_out:
        return (
            f"{where}: timeout after {limit:g} s{more} in page {page.rel(page.source)}: "
            f"$ {first}\n" + output(located(page, r, cmd.line - 1))
        )
    if cmp.matched:
        return (
            f"{where}: `{first}` exited with status {r.status}{more}; a console example "
            "whose expected output is empty or only `...` must succeed\n"
            + output(located(page, r, cmd.line - 1))
        )
    out_where = page.where(cmd.output_start) if cmd.output else where
    status = f" (exit status {r.status})" if r.status else ""
    return f"{where}: output of `{first}` does not match{status}{more}\n" + cmp.diff(out_where)


def leaks_failure(page_rel: str, changes: list[str]) -> str:
    return (
        f"{page_rel}: the page changed the cluster outside its namespace and did not "
        "restore it (clean up visibly or in a hidden cleanup block):\n  " + "\n  ".join(changes)
    )
