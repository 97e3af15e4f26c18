"""The prose of a Markdown page, word by word, with its line: what a spelling checker reads.

Everything that is not prose is *masked* (replaced by spaces, newlines kept) rather than
removed, so that every word keeps its offset and therefore its line number: front matter,
HTML comments (doctest directives and hidden blocks), fenced code (Mermaid included), inline
code, URLs, link targets, reference definitions, HTML tags, Jinja, attribute lists, snippet
includes, abbreviation definitions, admonition and tab markers (their quoted title is prose).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from tools.markdown import hidden_spans, snippets


@dataclass(frozen=True)
class Word:
    line: int
    text: str
    # In italics or in an element with another `lang`: French typography puts foreign words
    # in italics, so such a word may come from the other language's dictionary.
    foreign: bool = False


# Inline patterns masked whole, in this order. A paragraph never spans a blank line, hence
# `\n(?![ \t]*\n)` wherever a pattern may run across lines.
_SAME_PARAGRAPH = r"(?:[^\n]|\n(?![ \t]*\n))"
_MASKED_INLINE = [
    re.compile(rf"(`+){_SAME_PARAGRAPH}+?\1"),  # inline code, any number of backticks
    re.compile(rf"\{{\{{{_SAME_PARAGRAPH}*?\}}\}}|\{{%{_SAME_PARAGRAPH}*?%\}}"),  # Jinja
    re.compile(r"^[ \t]*\*\[[^\]]*\]:.*$", re.M),  # abbreviation definitions (tooltips)
    re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*\S+.*$", re.M),  # reference definitions
    re.compile(r"\[\^[^\]]+\]:?"),  # footnote references and definitions' labels
    re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"),  # link and image targets, with a title
    re.compile(r"\]\[[^\]]*\]"),  # reference link labels
    re.compile(r"<(?:https?|ftp|mailto):[^>\s]*>"),  # autolinks
    re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+"),  # bare URLs
    re.compile(r"\{:?[ \t]*[.#][^}\n]*\}|\{:[^}\n]*\}|\{[ \t]*\w+=[^}\n]*\}"),  # attr_list
    re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);"),  # HTML entities
    re.compile(r":[a-z0-9]+(?:-[a-z0-9]+)+:"),  # icon/emoji shortcodes (:material-check:)
    re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}.*$", re.M),  # table separator lines
]
# Admonition and tab markers (`!!! note "Titre"`, `??? success`, `=== "Onglet"`): the
# marker, the type and the title's quotes are masked, the title is prose.
_BLOCK_MARKER = re.compile(
    r'^([ \t]*(?:!!!|\?{3}\+?|={3}\+?)(?:[ \t]+[\w-]+)*[ \t]*)(?:(")(.*)("))?', re.M
)
# Link text of a link to another site: the title of the page it cites, often English
# ([Services, Load Balancing, and Networking](https://kubernetes.io/…)). Found before link
# targets are masked.
_EXTERNAL_LINK_TEXT = re.compile(r"\[([^\[\]]+)\]\((?:https?:)?//")
# Quotations, whose words may come from the other language: they quote program messages
# (« Connection refused ») or the other language ("avant" is before) as often as the
# page's own. Each language quotes its own way.
QUOTES = {
    "fr": re.compile(rf"«{_SAME_PARAGRAPH}*?»"),
    "en": re.compile(rf"“{_SAME_PARAGRAPH}*?”|\"{_SAME_PARAGRAPH}*?\""),
}
# Other regions whose words may come from the other language (checked before tags are
# masked): an element with `lang`, and italics.
_FOREIGN = [
    re.compile(rf"<(em|i|span|code)\b[^>]*\blang=[\"']?\w[^>]*>{_SAME_PARAGRAPH}*?</\1>"),
    re.compile(rf"<(em|i)>{_SAME_PARAGRAPH}*?</\1>"),
    re.compile(rf"(?<![*\w\\])\*(?![*\s]){_SAME_PARAGRAPH}+?(?<![\s*\\])\*(?!\*)"),
    re.compile(rf"(?<![_\w\\])_(?![_\s]){_SAME_PARAGRAPH}+?(?<![\s_\\])_(?![_\w])"),
]
_TAG = re.compile(r"</?[a-zA-Z][\w-]*(?:\s[^<>]*)?/?>")
# A chunk (run of non-spaces) that carries one of these is a name, a path, a version, an
# address or a command, not a word: `cni0`, `resolv.conf`, `10.1.0.0/16`, `IPv4`, `$HOME`.
_TECHNICAL = re.compile(r"[\d/_=@\\$<>{}~#%+^]|\w\.\w|\w:\w")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
# Words joined by slashes are still words (maisons/immeubles, TCP/UDP), a path is not.
_SLASHED_WORDS = re.compile(rf"{_WORD.pattern}(?:/{_WORD.pattern})+")
# Punctuation that may surround a word (quotes, brackets, emphasis markers, ellipsis…).
_EDGES = "«»“”\"'’‘()[]{}*_,;:!?.…–—-|"


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _mask_blocks(text: str) -> str:
    """Mask front matter, HTML comments, fenced code and snippet includes."""
    for start, end in hidden_spans(text):
        text = _blank(text, start, end)
    lines = text.split("\n")
    for index in snippets(lines).notation:
        lines[index] = " " * len(lines[index])
    return "\n".join(lines)


def mask(text: str, lang: str = "fr") -> tuple[str, list[tuple[int, int]]]:
    """The page with everything but prose blanked out, and the spans of foreign regions."""
    text = _mask_blocks(text)
    foreign = [m.span(1) for m in _EXTERNAL_LINK_TEXT.finditer(text)]
    for match in reversed(list(_BLOCK_MARKER.finditer(text))):
        for group in (4, 2, 1):  # from the end: offsets stay valid
            if match[group] is not None:
                text = _blank(text, match.start(group), match.end(group))
    for pattern in _MASKED_INLINE:
        for match in reversed(list(pattern.finditer(text))):
            text = _blank(text, match.start(), match.end())
    quotes = QUOTES.get(lang)
    for pattern in [*_FOREIGN, *([quotes] if quotes else [])]:
        foreign += [m.span() for m in pattern.finditer(text)]
    for match in reversed(list(_TAG.finditer(text))):
        text = _blank(text, match.start(), match.end())
    return text, foreign


def words(text: str, lang: str = "fr") -> list[Word]:
    """Every word of the prose of a Markdown page, in order, with its 1-based line."""
    masked, foreign = mask(text, lang)
    line_starts = [0] + [i + 1 for i, char in enumerate(masked) if char == "\n"]
    found: list[Word] = []
    for chunk in re.finditer(r"\S+", masked):
        core = chunk[0].strip(_EDGES)
        if not core or (_TECHNICAL.search(core) and not _SLASHED_WORDS.fullmatch(core)):
            continue
        for word in _WORD.finditer(chunk[0]):
            offset = chunk.start() + word.start()
            found.append(
                Word(
                    line=bisect.bisect_right(line_starts, offset),
                    text=word[0],
                    foreign=any(start <= offset < end for start, end in foreign),
                )
            )
    return found
