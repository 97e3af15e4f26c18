"""The one reader of the pages' Markdown: fenced code, HTML comments, doctest directives and
snippet includes, with 0-based line indices.

Everything that looks inside a page reads it through this module: the doctest (which blocks
run, and their directives), the translation parity check, the "verified" note, the spelling
checker (what is not prose) and the build's snippet check. So a fence with attributes
(```` ```bash title="x" ````, ```` ``` { .console .annotate } ````), indented in an
admonition or a content tab, or hidden in a doctest comment, means the same thing to all of
them, and so does a directive or a `--8<--` include.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# -- fenced code ---------------------------------------------------------------------------

FENCE_OPEN: Final = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>`{3,}|~{3,})(?P<info>.*)$")

# The languages of the blocks the doctest runs: shell code, and console sessions (`$ `
# prompts followed by the output).
RUN_LANGS: Final = {
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "console": "console",
    "shell-session": "console",
}


def run_kind(lang: str) -> str | None:
    """`bash` or `console` for a language the doctest runs, None for any other."""
    return RUN_LANGS.get(lang.lower())


def parse_info(info: str) -> tuple[str, str]:
    """(language, rest) of a fence info string: `bash title="x"`, `{ .bash .annotate }`."""
    info = info.strip()
    if info.startswith("{"):
        inner = info[1:].rstrip("}").strip()
        for token in inner.split():
            if token.startswith("."):
                return token[1:], inner
        return "", inner
    lang, _, rest = info.partition(" ")
    # `bash{.annotate}` and `bash,title` forms are not Markdown; keep only the word.
    m = re.match(r"[\w+-]*", lang)
    return (m.group(0) if m else ""), rest


def strip_indent(line: str, indent: str) -> str:
    """A line of a block without the block's indentation (a fence inside an admonition)."""
    # A line indented less than its fence (a blank line, usually) loses what it has.
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")


def is_closing(line: str, marker: str, indent: str) -> bool:
    """Does `line` close a fence opened with `marker` at `indent`? The same character, at
    least as many, nothing else on the line, and the opening fence's indentation."""
    stripped = line.strip()
    return (
        bool(stripped)
        and set(stripped) == {marker[0]}
        and len(stripped) >= len(marker)
        and line[: len(line) - len(line.lstrip(" \t"))] == indent
    )


@dataclass(frozen=True)
class Fence:
    """A fenced code block: where it is, how it is opened, and its lines."""

    start: int  # index of the opening fence line
    end: int | None  # index of the closing fence line; None when it is never closed
    indent: str
    marker: str  # ``` or ~~~ (or longer)
    info: str  # the info string as written
    body: tuple[str, ...]  # the lines between the fences, without the fence's indentation

    @property
    def lang(self) -> str:
        return parse_info(self.info)[0]

    @property
    def rest(self) -> str:
        """The info string after the language: attributes, title."""
        return parse_info(self.info)[1]

    @property
    def run_kind(self) -> str | None:
        return run_kind(self.lang)

    def stop(self, total: int) -> int:
        """Index of the first line after the block (the end of the page if never closed)."""
        return total if self.end is None else self.end + 1


def fence_at(lines: list[str], i: int) -> Fence | None:
    """The fenced block opened on line `i`, or None if that line opens none."""
    m = FENCE_OPEN.match(lines[i])
    if m is None:
        return None
    indent, marker = m["indent"], m["marker"]
    end = next((k for k in range(i + 1, len(lines)) if is_closing(lines[k], marker, indent)), None)
    stop = len(lines) if end is None else end
    body = tuple(strip_indent(line, indent) for line in lines[i + 1 : stop])
    return Fence(i, end, indent, marker, m["info"], body)


def fences(lines: list[str]) -> list[Fence]:
    """Every fenced block in page order (a fence inside an HTML comment counts: the doctest's
    hidden setup and cleanup blocks are written that way)."""
    found: list[Fence] = []
    i = 0
    while i < len(lines):
        fence = fence_at(lines, i)
        if fence is None:
            i += 1
            continue
        found.append(fence)
        i = fence.stop(len(lines))
    return found


# -- HTML comments and doctest directives ---------------------------------------------------

COMMENT_OPEN: Final = "<!--"
COMMENT_CLOSE: Final = "-->"


def comment_end(lines: list[str], i: int) -> int:
    """Index of the line that closes the HTML comment opened on line `i` (the last line of
    the page if it is never closed)."""
    first = lines[i].split(COMMENT_OPEN, 1)[-1]
    if COMMENT_CLOSE in first:
        return i
    for k in range(i + 1, len(lines)):
        if COMMENT_CLOSE in lines[k]:
            return k
    return len(lines) - 1


# A comment that starts like a directive; anything after "doctest" that is not ":" is a typo
# worth reporting (`<!-- doctest skip -->` would otherwise be silently ignored).
DIRECTIVE_START: Final = re.compile(r"^(?P<indent>[ \t]*)<!--[ \t]*doctest\b(?P<colon>[ \t]*:)?")
_TOKEN: Final = re.compile(r'\s*(?P<key>[A-Za-z][\w-]*)(?:=(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+))?')


class DirectiveSyntaxError(ValueError):
    """Directive text that is not `key` / `key=value` / `key="quoted value"` tokens."""


@dataclass(frozen=True)
class DirectiveComment:
    """A `<!-- doctest: … -->` comment as written, before its keys are checked."""

    start: int  # index of the `<!-- doctest` line
    last: int  # index of the last line read for its text
    indent: str
    colon: bool  # False for `<!-- doctest skip …`, a typo for `doctest:`
    body: str  # the text after `doctest:` up to `-->`, its lines joined by a space
    # `-->` was found; when it was not, a fence follows (a hidden block) or the page ends.
    closed: bool


def directive_at(lines: list[str], i: int) -> DirectiveComment | None:
    """The doctest directive starting on line `i`, or None.

    Its text may continue on the next lines until `-->`, unless a fence starts first: that
    is a hidden setup or cleanup block, whose comment closes after the fence.
    """
    m = DIRECTIVE_START.match(lines[i])
    if m is None:
        return None
    if not m["colon"]:
        return DirectiveComment(i, i, m["indent"], False, "", COMMENT_CLOSE in lines[i])
    rest = lines[i][m.end() :]
    closed = COMMENT_CLOSE in rest
    body = rest.split(COMMENT_CLOSE, 1)[0]
    j = i
    while not closed and j + 1 < len(lines) and not FENCE_OPEN.match(lines[j + 1]):
        j += 1
        closed = COMMENT_CLOSE in lines[j]
        body += " " + lines[j].split(COMMENT_CLOSE, 1)[0]
    return DirectiveComment(i, j, m["indent"], True, body, closed)


def directive_tokens(body: str) -> list[tuple[str, str | None]]:
    """The directive grammar: `(key, value)` pairs in order; value None for a bare key, the
    text without its quotes for `key="…"` (`\\"` stands for a quote)."""
    tokens: list[tuple[str, str | None]] = []
    pos = 0
    body = body.rstrip()
    while pos < len(body) and body[pos:].strip():
        m = _TOKEN.match(body, pos)
        if not m or (m.end() < len(body) and not body[m.end()].isspace()):
            bad = body[pos:].split()[0] if body[pos:].split() else body[pos:]
            raise DirectiveSyntaxError(f"cannot read {bad!r} (expected key or key=value)")
        value = m["value"]
        if value is not None and value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        tokens.append((m["key"], value))
        pos = m.end()
    return tokens


# -- snippet includes (pymdownx.snippets) --------------------------------------------------

# pymdownx.snippets' own notation: `--8<-- "path"` alone on its line, or a block of paths
# between two bare `--8<--` lines; a leading `;` escapes either, and a path line starting
# with `;` is commented out. It applies everywhere in the page, fenced code included.
SNIPPET_MARKER: Final = re.compile(
    r"""^(?P<indent>[ \t]*)(?P<escape>;*)(?:
        (?P<inline>-+8<-+[ \t]+)(?P<quoted>"(?:\\"|[^"\n\r])+?"|'(?:\\'|[^'\n\r])+?')(?![ \t])
        | (?P<block>-+8<-+)(?![ \t])
    )\r?$""",
    re.X,
)


@dataclass(frozen=True)
class SnippetInclude:
    line: int  # index of the line that names the file
    path: str  # as written (`file.sh:3:8` selects lines of the file)


@dataclass(frozen=True)
class Snippets:
    includes: list[SnippetInclude]
    notation: list[int]  # every line that is snippet notation: markers and block paths


def snippets(lines: list[str]) -> Snippets:
    """The `--8<--` includes of a page, and the lines their notation takes."""
    includes: list[SnippetInclude] = []
    notation: list[int] = []
    block = False
    for i, line in enumerate(lines):
        m = SNIPPET_MARKER.match(line)
        if m:
            if m["escape"]:
                continue  # shown as written, without the `;`
            notation.append(i)
            if m["block"]:
                block = not block
            elif not block:  # an inline marker directly in a block is ignored
                path = m["quoted"][1:-1].strip()
                if path and not path.startswith(";"):
                    includes.append(SnippetInclude(i, path))
            continue
        if block:
            notation.append(i)
            path = line.strip()
            if path and not path.startswith(";"):
                includes.append(SnippetInclude(i, path))
    return Snippets(includes, notation)


# -- what is not shown as prose --------------------------------------------------------------

FRONT_MATTER: Final = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*\n", re.S)


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the page that readers do not see as prose: the front matter, HTML
    comments (a fence inside one included) and fenced code blocks (their fence lines too)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    if match := FRONT_MATTER.match(text):
        spans.append((0, match.end()))
        offset = match.end()
    fence: tuple[str, str] | None = None  # (marker, indent) while inside a fenced block
    comment_from: int | None = None  # where the comment being read opened
    for line in text[offset:].split("\n"):
        start = offset
        offset += len(line) + 1
        if fence is not None:
            if is_closing(line, *fence):
                fence = None
            spans.append((start, start + len(line)))
            continue
        visible = ""  # the line with its comments blanked, for the fence test below
        col = 0
        while col < len(line):
            if comment_from is not None:
                close = line.find(COMMENT_CLOSE, col)
                stop = len(line) if close < 0 else close + len(COMMENT_CLOSE)
                visible += " " * (stop - col)
                if close >= 0:
                    spans.append((comment_from, start + stop))
                    comment_from = None
                col = stop
            else:
                opening = line.find(COMMENT_OPEN, col)
                stop = len(line) if opening < 0 else opening
                visible += line[col:stop]
                if opening >= 0:
                    comment_from = start + opening
                col = stop
        if comment_from is None and (m := FENCE_OPEN.match(visible)):
            fence = (m["marker"], m["indent"])
            spans.append((start, start + len(line)))
    if comment_from is not None:
        spans.append((comment_from, len(text)))
    return spans
