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
from typing import Final

COMMAND_LANGS: Final = frozenset({"bash", "shell", "sh"})
CONSOLE_LANGS: Final = frozenset({"console", "shell-session"})

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE_RE = re.compile(r"<!--\s*doctest:(?P<body>.*?)(?:-->|$)")
_REASON_RE = re.compile(r"""\breason\s*=\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+)""")
# Inline form `--8<-- "path"` (a leading `;` escapes it) or a bare `--8<--` opening a block.
_SNIPPET_INLINE_RE = re.compile(r"""^\s*(?P<esc>;?)--8<--\s+(?P<q>["'])(?P<path>.+?)(?P=q)""")
_SNIPPET_BLOCK_RE = re.compile(r"^\s*--8<--\s*$")


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


def _fence_lang(info: str) -> str:
    info = info.strip()
    if info.startswith("{"):
        # Attribute form: ```{.bash title="x"}
        match = re.search(r"\.([\w-]+)", info)
        return match[1].lower() if match else ""
    return info.split(maxsplit=1)[0].lower() if info else ""


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


def _snippet_items(lines: Sequence[str], first: int) -> Iterable[Item]:
    in_block = False
    for offset, line in enumerate(lines):
        if _SNIPPET_BLOCK_RE.match(line):
            in_block = not in_block
            continue
        if in_block:
            if line.strip() and not line.strip().startswith(";"):
                yield Item("snippet", line.strip(), first + offset)
            continue
        match = _SNIPPET_INLINE_RE.match(line)
        if match and not match["esc"]:
            yield Item("snippet", match["path"], first + offset)


def _directive_items(line: str, number: int) -> Iterable[Item]:
    for match in _DIRECTIVE_RE.finditer(line):
        body = _REASON_RE.sub("reason=…", match["body"])
        yield Item("directive", " ".join(body.split()), number)


def extract(text: str, body_start: int = 0) -> list[Item]:
    """The items of a page that a translation must keep, in page order.

    `body_start` is the index of the first line after the front matter.
    """
    lines = text.splitlines()
    items: list[Item] = []
    index = body_start
    while index < len(lines):
        if _FENCE_RE.match(lines[index]) is None:
            # A run of prose lines: directives, and includes (the block form spans lines).
            start, run = index, []
            while index < len(lines) and _FENCE_RE.match(lines[index]) is None:
                run.extend(_directive_items(lines[index], index + 1))
                index += 1
            run.extend(_snippet_items(lines[start:index], start + 1))
            items.extend(sorted(run, key=lambda item: item.line))
            continue
        fence = _FENCE_RE.match(lines[index])
        assert fence is not None  # the loop above stops only on a fence
        # A fenced block: find its end (same character, at least as long, nothing after).
        marker, indent = fence["fence"], fence["indent"]
        lang = _fence_lang(fence["info"])
        end = index + 1
        closing = re.compile(rf"^[ \t]*{re.escape(marker[0])}{{{len(marker)},}}\s*$")
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        content = [
            raw[len(indent) :] if raw.startswith(indent) else raw.lstrip()
            for raw in lines[index + 1 : end]
        ]
        first = index + 2
        snippets = list(_snippet_items(content, first))
        items.extend(snippets)
        snippet_lines = {item.line for item in snippets}
        if lang in COMMAND_LANGS or lang in CONSOLE_LANGS:
            items.append(Item("code block", lang, index + 1))
            if lang in CONSOLE_LANGS:
                items.extend(
                    item
                    for item in _console_items(content, first)
                    if item.line not in snippet_lines
                )
            else:
                items.extend(
                    Item("command", text, first + offset)
                    for offset, text in _command_lines(content)
                    if first + offset not in snippet_lines
                )
        index = end + 1
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
    heading_lines = []
    in_fence = ""
    for number, line in enumerate(lines[body_start:], start=body_start + 1):
        fence = _FENCE_RE.match(line)
        if fence:
            mark = fence["fence"][0]
            if not in_fence:
                in_fence = mark
            elif in_fence == mark and not fence["info"].strip():
                in_fence = ""
            continue
        if not in_fence and re.match(r"^#{1,6}\s", line):
            heading_lines.append(number)
    if len(heading_lines) != len(anchors):
        heading_lines = [body_start + 1] * len(anchors)
    return [
        Item("anchor", f"#{anchor}", line)
        for (anchor, _title), line in zip(anchors, heading_lines, strict=True)
    ]
