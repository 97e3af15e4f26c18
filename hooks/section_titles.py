"""MkDocs hook: a chapter folder is titled in the navigation by its `index.md` page.

Without an explicit `nav:`, MkDocs names a section after its folder
(`07-reseau-kubernetes-interne` → "07 reseau kubernetes interne", accents lost). The pages
are the source of truth, so once they are read, each section takes the title of its index
page ("7. Réseau Kubernetes Interne"), in every locale.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

_nav: Navigation | None = None


def on_nav(nav: Navigation, **_: Any) -> Navigation:
    global _nav
    _nav = nav  # page titles are known only after rendering: renamed in on_env
    return nav


def _retitle(items: list[Any]) -> None:
    for item in items:
        if isinstance(item, Section):
            index = next((c for c in item.children if isinstance(c, Page) and c.is_index), None)
            if index is not None and index.title:
                item.title = index.title
            _retitle(item.children)


def on_env(env: Any, **_: Any) -> Any:
    if _nav is not None:
        _retitle(_nav.items)
    return env
