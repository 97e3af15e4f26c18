"""Heading anchors exactly as the site computes them: macros, then the locale's Markdown.

Rendering with the config's own mkdocs-macros plugin (a heading may be a macro call, e.g.
`section_link`) and `markdown_extensions` (toc slugify, attr_list `{ #id }`, snippets…) is
the only faithful way: a hand-written slugify would drift from the site's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config import load_config
from mkdocs.structure.files import File
from mkdocs.structure.pages import Page
from mkdocs.utils.meta import get_data

from tools.i18n.locales import I18nError


def _flatten(tokens: Iterable[dict[str, Any]]) -> Iterable[tuple[str, str]]:
    for token in tokens:
        yield token["id"], token["name"]
        yield from _flatten(token.get("children", []))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _raise_warnings() -> Iterator[None]:
    handler = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        raise I18nError(" / ".join(" ".join(m.split()) for m in handler.messages))


def toc_renderer(config_file: Path) -> Callable[[str, str], list[tuple[str, str]]]:
    """A function giving the (id, title) of every heading of a page, in order.

    It takes the page's whole text (front matter included) and its path in the docs folder.
    """
    # load_config logs at INFO about plugins and hooks; the report has its own output.
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(config_file=str(config_file))
    except Exception as exc:  # MkDocs raises several kinds; all mean "this config is broken"
        raise I18nError(f"{config_file}: MkDocs cannot load this config: {exc}") from None
    md = markdown.Markdown(
        extensions=config.markdown_extensions, extension_configs=config.mdx_configs
    )
    root = config_file.parent
    macros = config.plugins.get("macros")
    if macros is not None:
        macros.on_config(config)

    def render(text: str, src_uri: str) -> list[tuple[str, str]]:
        body, meta = get_data(text)
        # pymdownx.snippets and macro modules resolve paths from the working directory; a
        # macro error is only logged by the plugin (a strict build fails on it): raise it.
        with contextlib.chdir(root), _raise_warnings():
            if macros is not None:
                # The plugin itself decides (render_macros, render_by_default), as in a build.
                page = Page(None, File(src_uri, config.docs_dir, "", False), config)
                page.markdown, page.meta = body, meta
                body = macros.on_page_markdown(body, page=page, config=config, files=None)
            md.reset()
            md.convert(body)
        return list(_flatten(getattr(md, "toc_tokens", [])))

    return render
