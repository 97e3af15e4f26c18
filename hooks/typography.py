"""MkDocs hook: French typography on the rendered pages, never inside code.

French puts a space before `: ; ! ?` and inside « », and that space must not break: a line
must never start with a colon or a closing guillemet. Writers type an ordinary space (the
source stays readable, and editors show it); this hook makes it non-breaking in the HTML
of French pages: U+202F (narrow no-break space) before `; ! ?` and after « / before »,
U+00A0 (no-break space) before `:`. Nothing is ever inserted where the writer put no space
(`http://`, `10:30`, `a?b` stay as they are).

Only text is touched: not tags nor attributes, and nothing inside `pre`, `code`, `kbd`,
`samp`, `script`, `style`, `textarea` or `svg` (commands, outputs, Mermaid sources,
inline SVG). The navigation and the table of contents are text of the page too, so they get
the same spaces as the headings they repeat. The site checks read the built pages and fail
on a breakable space left before `: ; ? ! »` or after « (tests/site/test_typography.py).
"""

from __future__ import annotations

import re
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

NNBSP = "\u202f"  # narrow no-break space: before ; ! ? and inside « »
NBSP = "\u00a0"  # no-break space: before :

# Elements whose content is never prose: skipped whole, with their nested tags.
_RAW = ("pre", "code", "kbd", "samp", "script", "style", "textarea", "svg")
_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<(?P<raw>" + "|".join(_RAW) + r")\b[^>]*>.*?</(?P=raw)\s*>"
    r"|<[!/?a-zA-Z](?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.S | re.I,
)
# Tags that do not end a run of text (a space before one of them can face a sign after it).
_INLINE = re.compile(r"</?(a|abbr|b|cite|dfn|em|i|mark|q|s|small|span|strong|sub|sup|u)\b", re.I)

# Breakable white space (not the no-break ones) in the places French wants a fixed one.
_SPACE = r"[ \t\r\n]+"
_RULES = (
    (re.compile(_SPACE + r"(?=[;!?])"), NNBSP),
    (re.compile(r"[ \t\r\n\u00a0]+(?=»)"), NNBSP),
    (re.compile(r"\u00a0(?=[;!?])"), NNBSP),
    (re.compile(_SPACE + r"(?=:)"), NBSP),
)
_OPEN = re.compile(r"«[ \t\r\n\u00a0]+")
_SIGN_FIRST = re.compile(r"^[:;!?»]")
_TRAILING = re.compile(r"[ \t\r\n]+$")


def french_text(text: str) -> str:
    """The spaces of one run of text made non-breaking where French wants them."""
    for pattern, space in _RULES:
        text = pattern.sub(space, text)
    return _OPEN.sub("«" + NNBSP, text)


def _space_for(sign: str) -> str:
    return NBSP if sign == ":" else NNBSP


def french_html(html: str) -> str:
    """`html` with French spaces in its text, tags, attributes and code left as they are."""
    parts: list[str] = []
    last_text: int | None = None  # index in parts of the text before inline tags only
    position = 0
    for match in _TOKEN.finditer(html):
        if match.start() > position:
            text = french_text(html[position : match.start()])
            # "mot <em>:</em>" or "« <a>…": the space and the sign are in two runs of text.
            sign = _SIGN_FIRST.match(text)
            if sign and last_text is not None and _TRAILING.search(parts[last_text]):
                parts[last_text] = _TRAILING.sub(_space_for(sign[0]), parts[last_text])
            if last_text is not None and parts[last_text].endswith("«"):
                text = re.sub(r"^[ \t\r\n]+", NNBSP, text)
            parts.append(text)
            last_text = len(parts) - 1
        token = match[0]
        parts.append(token)
        if match["raw"] or not _INLINE.match(token):
            last_text = None  # a block, a line break or code: the run of text ends here
        position = match.end()
    tail = html[position:]
    parts.append(french_text(tail))
    return "".join(parts)


def on_post_page(output: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    if str(config.theme.get("language") or "") != "fr":
        return output
    return french_html(output)


def on_post_template(output_content: str, template_name: str, config: MkDocsConfig) -> str:
    # 404.html is a theme template, not a page: rendered without on_post_page.
    if not template_name.endswith(".html") or config.theme.get("language") != "fr":
        return output_content
    return french_html(output_content)
