"""What must stay identical between a page and its translation, and the comparison.

A translation changes prose and comments, never what readers run or what the doctest reads:
the commands of `bash`/`shell`/`sh`/`console` blocks (comments removed, since they are
translated), the expected output of `console` blocks, snippet includes (`--8<--`), doctest
directives (`<!-- doctest: … -->`, whose `reason="…"` may be translated), the
`render_macros` switch, and heading anchors, so that `page.md#anchor` links and the language
switcher land on the same heading in every locale.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tools.markdown import (
    DirectiveComment,
    DirectiveSyntaxError,
    directive_at,
    directive_tokens,
    fence_at,
    fences,
    snippets,
)


@dataclass(frozen=True)
class Item:
    """One thing that must match: its kind, its text, and the line (1-based) it is on."""

    kind: str
    text: str
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.text)

    def describe(self) -> str:
        return f"{self.kind} `{self.text}`" if self.text else self.kind


@dataclass(frozen=True)
class Problem:
    """A parity problem: a message that names the translated file and line."""

    line: int
    source_line: int
    message: str


def strip_comment(line: str, state: str = "") -> tuple[str, str]:
    """`line` without its shell comment, and the quote still open at its end ('' if none).

    A `#` starts a comment at the start of a word, outside quotes (`${#x}`, `a#b` and
    `"# x"` are not comments). `state` carries a quote left open by the previous line.
    """
    quote = state
    prev = " "
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 2
                prev = "x"
                continue
            if char == quote:
                quote = ""
        elif char == "\\":
            index += 2
            prev = "x"
            continue
        elif char in "'\"":
            quote = char
        elif char == "#" and prev in " \t;|&(":
            return line[:index].rstrip(), quote
        prev = char
        index += 1
    return line.rstrip(), quote


def _command_lines(lines: Sequence[str]) -> Iterable[tuple[int, str]]:
    quote = ""
    for offset, raw in enumerate(lines):
        text, quote = strip_comment(raw, quote)
        if text.strip():
            yield offset, text


def _console_items(lines: Sequence[str], first: int) -> Iterable[Item]:
    continuation = False
    for offset, raw in enumerate(lines):
        line = raw.rstrip()
        if continuation or line.startswith("$"):
            text, _ = strip_comment(line)
            continuation = text.endswith("\\")
            yield Item("command", text, first + offset)
        else:
            yield Item("output", line, first + offset)


def _directive_item(comment: DirectiveComment) -> Item | None:
    """The directive as the doctest reads it, its `reason` (translated) left out."""
    if not comment.colon:
        return None  # not a directive the doctest reads (it reports the typo itself)
    try:
        tokens = directive_tokens(comment.body)
    except DirectiveSyntaxError:
        return Item("directive", " ".join(comment.body.split()), comment.start + 1)
    words = [
        key if value is None else "reason=…" if key == "reason" else f"{key}={_quoted(value)}"
        for key, value in tokens
    ]
    return Item("directive", " ".join(words), comment.start + 1)


def _quoted(value: str) -> str:
    return f'"{value}"' if not value or any(c.isspace() or c == '"' for c in value) else value


def extract(text: str, body_start: int = 0) -> list[Item]:
    """The items of a page that a translation must keep, in page order.

    `body_start` is the index of the first line after the front matter.
    """
    lines = text.splitlines()
    included = {inc.line: inc.path for inc in snippets(lines).includes}
    items: list[Item] = []
    index = body_start
    while index < len(lines):
        fence = fence_at(lines, index)
        if fence is None:
            # A run of prose lines: directives, and includes (the block form spans lines).
            start, run = index, []
            while index < len(lines) and fence_at(lines, index) is None:
                directive = directive_at(lines, index)
                if directive is not None and (item := _directive_item(directive)):
                    run.append(item)
                index += 1
            run += [
                Item("snippet", included[k], k + 1) for k in range(start, index) if k in included
            ]
            items.extend(sorted(run, key=lambda item: item.line))
            continue
        stop = fence.stop(len(lines))
        first = index + 2  # 1-based line of the block's first content line
        snippet_items = [
            Item("snippet", included[k], k + 1) for k in range(index + 1, stop) if k in included
        ]
        items.extend(snippet_items)
        snippet_lines = {item.line for item in snippet_items}
        kind = fence.run_kind
        if kind is not None:
            items.append(Item("code block", fence.lang.lower(), index + 1))
            if kind == "console":
                items.extend(
                    item
                    for item in _console_items(fence.body, first)
                    if item.line not in snippet_lines
                )
            else:
                items.extend(
                    Item("command", text, first + offset)
                    for offset, text in _command_lines(fence.body)
                    if first + offset not in snippet_lines
                )
        index = stop
    return items


def compare(source: Sequence[Item], translation: Sequence[Item]) -> list[Problem]:
    """Differences between the source's items and the translation's, as problems."""
    matcher = difflib.SequenceMatcher(
        a=[item.key for item in source], b=[item.key for item in translation], autojunk=False
    )
    problems: list[Problem] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # Anchor each message on the nearest translated line, so the translator can jump to it.
        near = translation[b0].line if b0 < len(translation) else _last_line(translation)
        for pos, item in enumerate(source[a0:a1]):
            if tag == "replace" and b0 + pos < b1:
                other = translation[b0 + pos]
                problems.append(
                    Problem(
                        other.line,
                        item.line,
                        f"{other.describe()} differs from the source's {item.describe()}",
                    )
                )
            else:
                problems.append(
                    Problem(near, item.line, f"missing {item.describe()} (the source has it)")
                )
        extra_from = b0 + (a1 - a0) if tag == "replace" else b0
        for item in translation[extra_from:b1]:
            problems.append(Problem(item.line, 0, f"{item.describe()} is not in the source"))
    return problems


def _last_line(items: Sequence[Item]) -> int:
    return items[-1].line if items else 1


def anchor_items(
    text: str, body_start: int, toc_ids: Callable[[str], list[tuple[str, str]]]
) -> list[Item]:
    """Heading anchors as items; `toc_ids` renders the whole page, returning (id, title) pairs.

    Lines are matched to ATX headings in order when their numbers agree (headings inside
    snippets or admonitions can make them differ; the line is then the body's first).
    """
    anchors = toc_ids(text)
    lines = text.splitlines()
    in_code = {k for f in fences(lines) for k in range(f.start, f.stop(len(lines)))}
    heading_lines = [
        number + 1
        for number in range(body_start, len(lines))
        if number not in in_code and re.match(r"^#{1,6}\s", lines[number])
    ]
    if len(heading_lines) != len(anchors):
        heading_lines = [body_start + 1] * len(anchors)
    return [
        Item("anchor", f"#{anchor}", line)
        for (anchor, _title), line in zip(anchors, heading_lines, strict=True)
    ]
