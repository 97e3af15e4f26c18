"""Heading anchors exactly as the site computes them: Markdown with the locale's extensions.

Rendering with the config's own `markdown_extensions` (toc slugify, attr_list `{ #id }`,
snippets…) is the only faithful way: a hand-written slugify would drift from the site's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config import load_config

from tools.i18n.locales import I18nError


def _flatten(tokens: Iterable[dict[str, Any]]) -> Iterable[tuple[str, str]]:
    for token in tokens:
        yield token["id"], token["name"]
        yield from _flatten(token.get("children", []))


def toc_renderer(config_file: Path) -> Callable[[str], list[tuple[str, str]]]:
    """A function giving the (id, title) of every heading of a Markdown text, in order."""
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

    def render(text: str) -> list[tuple[str, str]]:
        md.reset()
        # pymdownx.snippets resolves its base_path from the working directory, as in a build.
        with contextlib.chdir(root):
            md.convert(text)
        return list(_flatten(getattr(md, "toc_tokens", [])))

    return render
