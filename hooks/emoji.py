"""MkDocs hook: emoji written as shortcodes (`:white_check_mark:`) are drawn as inline SVG.

A Unicode emoji in a page is drawn by the reader's fonts, and shows as an empty box where
there is no emoji font. So pages write shortcodes, which pymdownx.emoji turns into pictures
with Material's `twemoji` index. Material's `to_svg` inlines its own icons
(`:material-…:`), but hands real emoji to pymdownx's generator, which points to a CDN; the
site loads nothing from another host. This hook gives pymdownx a generator that inlines the
Twemoji SVG installed by tools/vendor_assets.py (pinned `@twemoji/svg` from npm), and stops
the build, naming the emoji, when a page uses one that is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from material.extensions import emoji as material_emoji
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

_EXTENSION = "pymdownx.emoji"
_dirs: list[Path] = []


def _svg_file(code: str) -> Path | None:
    for folder in _dirs:
        path = folder / "assets" / "vendor" / "twemoji" / f"{code}.svg"
        if path.is_file():
            return path
    return None


def to_local_svg(
    index: str,
    shortname: str,
    alias: str,
    uc: str | None,
    alt: str,
    title: str,
    category: str,
    options: dict[str, Any],
    md: Any,
) -> Element:
    """pymdownx.emoji generator: Material's icons as Material draws them, emoji inlined."""
    if not uc:
        return material_emoji.to_svg(index, shortname, alias, uc, alt, title, category, options, md)
    path = _svg_file(uc)
    if path is None:
        raise PluginError(
            f"emoji {shortname} (U+{uc.upper()}) : overrides/assets/vendor/twemoji/{uc}.svg "
            "est absent. Ajoutez-le à tools/vendor_assets.py, puis lancez "
            "`python tools/vendor_assets.py`."
        )
    # Same markup as Material's icons; the emoji itself stays the accessible text.
    element = Element("span", {"class": "twemoji", "role": "img", "aria-label": alt})
    element.text = md.htmlStash.store(path.read_text(encoding="utf-8"))
    return element


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _dirs
    _dirs = [Path(d) for d in config.theme.dirs]
    if _EXTENSION in config.markdown_extensions:
        config.mdx_configs.setdefault(_EXTENSION, {})["emoji_generator"] = to_local_svg
    return config
