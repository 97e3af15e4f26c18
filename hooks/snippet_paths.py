"""MkDocs hook: a `--8<--` include of a missing file fails the build naming page and line.

pymdownx.snippets (`check_paths: true`) already refuses a missing file, but with a Python
traceback and without the line. This hook checks the page's source before rendering and
stops the build with one line: `docs/fr/page.md, ligne 12 : snippet « x » introuvable…`.
pymdownx stays the backstop for forms this hook does not read (URLs, nested snippets).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

# Same markers as pymdownx.snippets: `--8<-- "path"` on one line, or a block of paths
# between two bare `--8<--` lines. A leading `;` escapes the marker.
_INLINE = re.compile(r"""^[ \t]*-+8<-+[ \t]+(?P<q>["']?)(?P<path>.+?)(?P=q)[ \t]*$""")
_BLOCK = re.compile(r"^[ \t]*-+8<-+[ \t]*$")


def _base_paths(config: MkDocsConfig) -> list[Path]:
    options = config.mdx_configs.get("pymdownx.snippets", {})
    bases = options.get("base_path", ["."])
    if isinstance(bases, (str, os.PathLike)):
        bases = [bases]
    # pymdownx resolves relative base paths from the current directory, so do we.
    return [Path(os.fspath(b)).absolute() for b in bases]


def _exists(path: str, bases: list[Path]) -> bool:
    if "://" in path:  # remote snippets are off (url_download); pymdownx reports them
        return True
    # `file.sh:3:8` (lines) or `file.md:section` select part of a file.
    candidates = {path, path.split(":", 1)[0]}
    return any((base / c).is_file() for base in bases for c in candidates)


def _includes(lines: list[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(lines, start=1):
        if _BLOCK.match(line):
            in_block = not in_block
            continue
        if in_block:
            path = line.strip()
            if path and not path.startswith(";"):
                found.append((number, path.strip("\"'")))
            continue
        match = _INLINE.match(line)
        if match:
            found.append((number, match["path"]))
    return found


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    if "pymdownx.snippets" not in config.markdown_extensions:
        return markdown
    source = Path(page.file.abs_src_path or "")
    if not source.is_file():
        return markdown
    bases = _base_paths(config)
    for number, path in _includes(source.read_text(encoding="utf-8").splitlines()):
        if not _exists(path, bases):
            where = os.path.relpath(source)
            searched = ", ".join(os.path.relpath(b) for b in bases)
            raise PluginError(
                f"{where}, ligne {number} : snippet « {path} » introuvable "
                f"(cherché dans {searched})."
            )
    return markdown
