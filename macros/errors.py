"""Readable macro errors: file, line and cause, without a Python traceback.

mkdocs-macros-plugin formats a rendering error with `mkdocs_macros.errors.format_error`, a
`functools.singledispatch` function; by default it appends the whole traceback. Registering
formatters for the errors authors make (an unknown variable, a wrong `section_link`) gives
one clear line instead. The strict build still fails on it.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

from jinja2.exceptions import UndefinedError


def _template_line(error: BaseException) -> int | None:
    # Jinja rewrites tracebacks so that template frames are named "<template>".
    frames = traceback.extract_tb(error.__traceback__)
    lines = [f.lineno for f in frames if f.filename == "<template>"]
    return lines[-1] if lines else None


def _source_line(page: Any, markdown: str, line: int | None) -> int | None:
    """Line in the source file: the rendered Markdown has no front matter."""
    if line is None:
        return None
    try:
        source = Path(page.file.abs_src_path).read_text(encoding="utf-8")
    except (OSError, AttributeError):
        return line
    start = source.find(markdown[:200]) if markdown else -1
    return line + (source[:start].count("\n") if start > 0 else 0)


def _display_path(page: Any) -> str:
    # docs/fr/x.md rather than x.md: every locale has the same docs-relative paths.
    file = getattr(page, "file", None)
    abs_src = getattr(file, "abs_src_path", None)
    if abs_src:
        relative = os.path.relpath(abs_src)
        if not relative.startswith(".."):
            return relative
    return getattr(file, "src_path", "?")


def describe(error: BaseException, markdown: str, page: Any) -> str:
    """`docs/fr/page.md, ligne 12 : 'x' is undefined` (the location first, then the cause)."""
    where = _display_path(page)
    line = _source_line(page, markdown, _template_line(error))
    location = f"{where}, ligne {line}" if line is not None else where
    kind = "variable ou macro inconnue" if isinstance(error, UndefinedError) else "erreur de macro"
    return f"{location} : {kind} : {error}"


def register() -> None:
    """Plug `describe` into mkdocs-macros for the errors page authors make."""
    try:
        from mkdocs_macros.errors import format_error
    except ImportError:  # another version: its default message (with traceback) still fails
        return
    format_error.register(UndefinedError, describe)
    format_error.register(ValueError, describe)
