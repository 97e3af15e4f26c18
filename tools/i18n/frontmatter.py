"""Read and write a page's YAML front matter, keeping line numbers for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from tools.i18n.locales import I18nError

_KEY_RE = re.compile(r"^([A-Za-z_][\w-]*)\s*:")


@dataclass(frozen=True)
class FrontMatter:
    """The metadata block of a page: values, the line of each top-level key, where it ends."""

    data: dict[str, Any] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    # Index (0-based) of the first body line; 0 when the page has no front matter.
    body_start: int = 0


def parse(text: str, name: str) -> FrontMatter:
    """Parse the front matter of `text` (like MkDocs: `---` first line, `---`/`...` end)."""
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != "---":
        return FrontMatter()
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        raise I18nError(f"{name}:1: front matter opened by '---' is never closed")
    block = "\n".join(lines[1:end])
    try:
        data = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise I18nError(f"{name}:{line}: invalid YAML in front matter: {exc}") from None
    if not isinstance(data, dict):
        raise I18nError(f"{name}:2: front matter must be a mapping of keys to values")
    key_lines = {}
    for number, line in enumerate(lines[1:end], start=2):
        match = _KEY_RE.match(line)
        if match:
            key_lines.setdefault(match[1], number)
    return FrontMatter(data=data, key_lines=key_lines, body_start=end + 1)


def set_key(text: str, key: str, value: str) -> str:
    """`text` with front matter `key: value` set (added, or replaced in place)."""
    lines = text.splitlines(keepends=True)
    entry = f"{key}: {value}\n"
    if not lines or lines[0].rstrip() != "---":
        return f"---\n{entry}---\n\n{text}"
    for index in range(1, len(lines)):
        stripped = lines[index].rstrip()
        if stripped in ("---", "..."):
            lines.insert(index, entry)
            return "".join(lines)
        match = _KEY_RE.match(lines[index])
        if match and match[1] == key:
            lines[index] = entry
            return "".join(lines)
    raise I18nError("front matter opened by '---' is never closed")
