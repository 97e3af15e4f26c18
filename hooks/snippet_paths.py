"""MkDocs hook: a `--8<--` include of a missing file fails the build naming page and line.

pymdownx.snippets (`check_paths: true`) already refuses a missing file, but with a Python
traceback and without the line. This hook checks the page's source before rendering and
stops the build with one line: `docs/fr/page.md, ligne 12 : snippet « x » introuvable…`.
pymdownx stays the backstop for forms this hook does not read (URLs, nested snippets).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

# MkDocs loads hooks by file path: make the project's packages importable.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tools.markdown import snippets  # noqa: E402


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


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    if "pymdownx.snippets" not in config.markdown_extensions:
        return markdown
    source = Path(page.file.abs_src_path or "")
    if not source.is_file():
        return markdown
    bases = _base_paths(config)
    for include in snippets(source.read_text(encoding="utf-8").splitlines()).includes:
        number, path = include.line + 1, include.path
        if not _exists(path, bases):
            where = os.path.relpath(source)
            searched = ", ".join(os.path.relpath(b) for b in bases)
            raise PluginError(
                f"{where}, ligne {number} : snippet « {path} » introuvable "
                f"(cherché dans {searched})."
            )
    return markdown
