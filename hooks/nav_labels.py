"""MkDocs hook: each section of the navigation has a name, so its landmark is unique.

With `navigation.indexes`, Material renders a section whose index is a page as a link (the
page) plus a toggle `<label id="__nav_N_label">` holding only an icon, and labels the
section's `<nav>` with that toggle (`aria-labelledby`). Every such `<nav>` is then a
navigation landmark without a name, the same (empty) name for all: axe-core's
`landmark-unique`, and a focusable toggle that a screen reader announces without a word.
This hook gives each such toggle the section's title (the `md-nav__title` of its `<nav>`)
as `aria-label`, in the page's language since it is the page's own text.
"""

from __future__ import annotations

import html
import re
from typing import Any

_SECTION = re.compile(
    r'<nav class="md-nav"[^>]*\baria-labelledby="(?P<id>__nav_[\w]+_label)"[^>]*>\s*'
    r'<label class="md-nav__title"[^>]*>(?P<title>.*?)</label>',
    re.S,
)
_TAG = re.compile(r"<[^>]+>")


def _toggle(label_id: str) -> re.Pattern[str]:
    return re.compile(
        r'(<label class="md-nav__link[^"]*"[^>]*\bid="' + re.escape(label_id) + r'")'
        r'(?![^>]*\baria-label=)([^>]*>)(\s*<span class="md-nav__icon md-icon"></span>\s*</label>)'
    )


def name_sections(page_html: str) -> str:
    """`page_html` with an aria-label on every text-less section toggle that labels a nav."""
    for match in _SECTION.finditer(page_html):
        title = " ".join(html.unescape(_TAG.sub("", match["title"])).split())
        if not title:
            continue
        label = html.escape(title, quote=True)
        page_html = _toggle(match["id"]).sub(
            lambda m, label=label: f'{m[1]} aria-label="{label}"{m[2]}{m[3]}', page_html, count=1
        )
    return page_html


def on_post_page(output: str, **_: Any) -> str:
    return name_sections(output)


def on_post_template(output_content: str, **_: Any) -> str:
    # 404.html is a theme template, not a page: rendered without on_post_page.
    return name_sections(output_content)
