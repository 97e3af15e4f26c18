"""Find the examples of a rendered page: fences, directives, hidden blocks.

Sybil's stock `CodeBlockParser` keeps a fence only when its info string is exactly the
language, so ```` ```bash title="pods.sh" ```` or ```` ``` { .bash .annotate } ```` would be
silently dropped, and fences indented inside admonitions or content tabs need their prefix
removed.  The page's lines are read with `tools.markdown`, which handles all of those (and
the directive comments); this module turns them into examples, with line numbers (0-based
indices into the rendered page) that `render.RenderedPage` maps back to the sources.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from tools.doctest.directives import Directive, DirectiveError, parse_body
from tools.markdown import (
    COMMENT_CLOSE,
    FENCE_OPEN,
    comment_end,
    directive_at,
    fence_at,
    parse_info,
    run_kind,
)

__all__ = ["Block", "ConsoleCommand", "ParseProblem", "ParsedPage", "parse_info", "parse_lines"]


@dataclass
class ConsoleCommand:
    command: str  # the command as bash receives it (continuation lines kept)
    line: int  # rendered index of its `$` line
    last_line: int  # rendered index of its last line (continuations)
    output: list[str]  # expected output lines, as written (fence indentation removed)
    output_start: int  # rendered index of the first output line (or where it would go)


@dataclass
class Block:
    kind: str  # "bash", "console", "setup" or "cleanup"
    lang: str  # the info string's language as written
    start: int  # rendered index of the opening fence
    end: int  # rendered index of the closing fence
    indent: str
    body: list[str]
    directive: Directive = field(default_factory=Directive)
    directive_line: int | None = None
    commands: list[ConsoleCommand] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return self.kind in ("setup", "cleanup")

    @property
    def script(self) -> str:
        return "\n".join(self.body) + "\n"


@dataclass
class ParseProblem:
    line: int  # rendered index
    message: str


@dataclass
class ParsedPage:
    blocks: list[Block]
    page: Directive
    page_line: int | None
    problems: list[ParseProblem]


def parse_lines(lines: list[str]) -> ParsedPage:
    blocks: list[Block] = []
    problems: list[ParseProblem] = []
    page = Directive()
    page_line: int | None = None
    pending: tuple[Directive, int, str] | None = None  # directive, its line, its indent
    i = 0
    n = len(lines)

    def problem(line: int, message: str) -> None:
        problems.append(ParseProblem(line, message))

    while i < n:
        line = lines[i]
        stripped = line.strip()
        dc = directive_at(lines, i)
        if dc is not None:
            start_i, indent, j, closed, body = dc.start, dc.indent, dc.last, dc.closed, dc.body
            if not dc.colon:
                problem(i, "malformed doctest directive: write `<!-- doctest: key=value … -->`")
                i = comment_end(lines, i) + 1
                continue
            if not closed and j + 1 >= n:
                problem(start_i, "doctest directive: comment not closed with `-->`")
                break
            try:
                d = parse_body(body)
            except DirectiveError as exc:
                problem(start_i, f"doctest directive: {exc}")
                i = (j if closed else comment_end(lines, j)) + 1
                pending = None
                continue
            if d.hidden:
                if closed:
                    problem(
                        start_i, f"doctest {d.hidden}: the ```bash block goes inside the comment"
                    )
                    i = j + 1
                    continue
                k = j + 1
                while k < n and not lines[k].strip():
                    k += 1
                if k >= n or not FENCE_OPEN.match(lines[k]):
                    problem(start_i, f"doctest {d.hidden}: expected a ```bash block")
                    i = comment_end(lines, j) + 1
                    continue
                block, after = _block(lines, k, problems)
                if block is None:
                    i = after
                    continue
                if block.kind != "bash":
                    problem(k, f"doctest {d.hidden}: only bash blocks can be hidden")
                e = after
                while e < n and not lines[e].strip():
                    e += 1
                if e >= n or lines[e].strip() != COMMENT_CLOSE:
                    problem(block.end, f"doctest {d.hidden}: expected `-->` after the block")
                    i = after
                    continue
                block.kind = d.hidden
                block.directive, block.directive_line = d, start_i
                blocks.append(block)
                i = e + 1
                continue
            if not closed:
                problem(start_i, "doctest directive: comment not closed with `-->`")
                i = j + 1
                continue
            if d.page:
                try:
                    page = _merge_page(page, d)
                except DirectiveError as exc:
                    problem(start_i, f"doctest directive: {exc}")
                page_line = start_i if page_line is None else page_line
                i = j + 1
                continue
            if pending is not None:
                try:
                    d = pending[0].merged(d)
                except DirectiveError as exc:
                    problem(start_i, f"doctest directive: {exc}")
                start_i = pending[1]
            pending = (d, start_i, indent)
            i = j + 1
            continue

        if stripped.startswith("<!--"):
            # Commented-out Markdown is not on the site: nothing in it runs.
            i = comment_end(lines, i) + 1
            if pending is not None:
                problem(pending[1], "doctest directive is not followed by a code block")
                pending = None
            continue

        if FENCE_OPEN.match(line):
            block, after = _block(lines, i, problems)
            if pending is not None:
                d, d_line, d_indent = pending
                pending = None
                if block is None:
                    pass
                elif block.kind not in ("bash", "console"):
                    problem(
                        d_line,
                        f"doctest directive applies to a `{block.lang or 'plain'}` block, "
                        "which is never run",
                    )
                elif d_indent != block.indent:
                    problem(
                        d_line, "doctest directive is not indented like the code block after it"
                    )
                else:
                    if d.vary and block.kind != "console":
                        problem(d_line, "vary= applies to console blocks only")
                    block.directive, block.directive_line = d, d_line
            if block is not None and block.kind in ("bash", "console"):
                blocks.append(block)
            i = after
            continue

        if stripped and pending is not None:
            problem(pending[1], "doctest directive is not followed by a code block")
            pending = None
        i += 1

    if pending is not None:
        problem(pending[1], "doctest directive is not followed by a code block")
    return ParsedPage(blocks, page, page_line, problems)


def _merge_page(page: Directive, d: Directive) -> Directive:
    both = (set(page.keys) & set(d.keys)) - {"page", "reason"}
    if both:
        raise DirectiveError(f"page key(s) {', '.join(sorted(both))} given twice")
    return Directive(
        reason=page.reason or d.reason,
        requires=page.requires | d.requires,
        timeout=page.timeout if page.timeout is not None else d.timeout,
        vary=page.vary | d.vary,
        page=True,
        exclusive=page.exclusive or d.exclusive,
        keys=tuple(dict.fromkeys(page.keys + d.keys)),
    )


def _block(lines: list[str], i: int, problems: list[ParseProblem]) -> tuple[Block | None, int]:
    """The fenced block opened on line i, and the index of the line after it."""
    fence = fence_at(lines, i)
    assert fence is not None  # called on a line that opens a fence
    if fence.end is None:
        problems.append(ParseProblem(i, f"code block opened with {fence.marker} is never closed"))
        return None, len(lines)
    kind = run_kind(fence.lang) or "other"
    body = list(fence.body)
    block = Block(
        kind=kind, lang=fence.lang, start=i, end=fence.end, indent=fence.indent, body=body
    )
    if kind == "console":
        block.commands = _console(body, i + 1, problems)
    return block, fence.end + 1


def _incomplete(command: str) -> bool:
    """Does bash need more lines to complete this command (open quote, heredoc…)?"""
    proc = subprocess.run(
        ["bash", "-n"], input=command + "\n", capture_output=True, text=True, check=False
    )
    # An open quote is a syntax error; an open heredoc only a warning ("here-document …
    # delimited by end-of-file").
    err = proc.stderr.lower()
    return "unexpected end of file" in err or "unexpected eof" in err or "here-document" in err


def _console(body: list[str], first: int, problems: list[ParseProblem]) -> list[ConsoleCommand]:
    commands: list[ConsoleCommand] = []
    k = 0
    while k < len(body) and not body[k].strip():
        k += 1
    if k < len(body) and not _is_prompt(body[k]):
        problems.append(
            ParseProblem(first + k, "console block must start with a `$ ` command line")
        )
        return []
    while k < len(body):
        if not _is_prompt(body[k]):
            k += 1
            continue
        start = k
        parts = [body[k][1:].lstrip(" ")]
        # Continuations: a trailing backslash, or `> ` lines while the command is
        # syntactically incomplete (heredocs, open quotes).  `> ` alone is not enough:
        # `curl -v` prints lines that start with "> ".
        while k + 1 < len(body) and (
            parts[-1].endswith("\\")
            or (body[k + 1].startswith(">") and _incomplete("\n".join(parts)))
        ):
            k += 1
            nxt = body[k]
            parts.append(
                nxt[2:] if nxt.startswith("> ") else nxt[1:] if nxt.startswith(">") else nxt
            )
        last = k
        k += 1
        out_start = k
        while k < len(body) and not _is_prompt(body[k]):
            k += 1
        output = body[out_start:k]
        command = "\n".join(parts)
        if not command.strip():
            problems.append(ParseProblem(first + start, "console block has an empty `$` line"))
        commands.append(
            ConsoleCommand(command, first + start, first + last, output, first + out_start)
        )
    if not commands:
        problems.append(ParseProblem(first - 1, "console block without any `$ ` command"))
    return commands


def _is_prompt(line: str) -> bool:
    return line == "$" or line.startswith("$ ")
