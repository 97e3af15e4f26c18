"""The site's configuration keeps every hook in hooks/ and reloads `nox -s serve` on them."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.i18n.locales import read_config

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:
    return read_config(ROOT / "mkdocs.yml")


def _project_imports(path: Path) -> set[str]:
    """Top-level folders of this repository that a Python file imports (`tools`, `macros`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {name for name in names if (ROOT / name).is_dir()}


def test_every_hook_is_a_file_of_hooks_and_every_file_of_hooks_is_a_hook() -> None:
    listed = {Path(h) for h in _config()["hooks"]}
    assert all(h.parts[0] == "hooks" for h in listed), listed
    present = {p.relative_to(ROOT) for p in (ROOT / "hooks").glob("*.py")}
    assert listed == present


def test_overrides_holds_templates_and_assets_only() -> None:
    code = [p for p in (ROOT / "overrides").rglob("*.py") if "__pycache__" not in p.parts]
    assert code == []


def test_serve_watches_the_hooks_and_the_code_they_import() -> None:
    config = _config()
    watched = {Path(w).parts[0] for w in config["watch"]}
    needed = {"hooks", "snippets", "macros"}
    for hook in config["hooks"]:
        needed |= _project_imports(ROOT / hook)
    for module in (ROOT / "macros").glob("*.py"):
        needed |= _project_imports(module)
    assert needed <= watched, f"not watched by `nox -s serve`: {sorted(needed - watched)}"
