"""MkDocs hook: the theme's previous/next links follow the course, not the folder order.

Every section page ends with the theme's footer, which links to the previous and the next
page of the navigation: that footer is the one "previous / next section" of the site, in one
style (pages do not write their own). The navigation also holds the translators' guide
(`traduction/`), which comes after the last section: without this hook, 7.5's "Suivant"
would lead readers into the translators' guide, and the guide's "Précédent" back into 7.5.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.pages import Page

# Folders (under docs/<locale>/) that are not part of the course's reading order.
APART = ("traduction",)


def _part(page: Page | None) -> str | None:
    if page is None:
        return None
    first = page.file.src_uri.split("/", 1)[0]
    return first if first in APART else ""


def on_page_context(context: dict[str, Any], page: Page, **_: Any) -> dict[str, Any]:
    here = _part(page)
    if page.next_page is not None and _part(page.next_page) != here:
        page.next_page = None
    if page.previous_page is not None and _part(page.previous_page) != here:
        page.previous_page = None
    return context
