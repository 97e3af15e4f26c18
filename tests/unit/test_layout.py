"""The tree keeps one place per job: programs in tools/ (and hooks/, macros/), tests in tests/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [
    ROOT / "noxfile.py",
    *(p for d in ("tools", "hooks", "macros") for p in (ROOT / d).rglob("*.py")),
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_program_imports_from_tests() -> None:
    bad = {
        str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] == "tests")
        for p in PRODUCT
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_tests_hold_no_program() -> None:
    # A command contributors run (`python -m …`) belongs in tools/.
    assert sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("__main__.py")) == []
