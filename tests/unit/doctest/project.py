"""Throwaway MkDocs projects for the harness's own tests, and a way to run the doctest on them.

The doctest runs in a subprocess (`python -m pytest -p tools.doctest.plugin --cluster=none`)
so that the fixture pages' failures are asserted, not suffered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]

MKDOCS_YML = """\
site_name: fixture
docs_dir: docs/fr
plugins:
  - macros:
      module_name: fixture_macros
      render_by_default: false
      on_undefined: strict
markdown_extensions:
  - admonition
  - pymdownx.details
  - pymdownx.superfences
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.snippets:
      base_path: [snippets]
      check_paths: true
"""

MACROS = """\
def define_env(env):
    env.variables["kubectl"] = "microk8s kubectl"
    env.variables["greeting"] = "bonjour"
    env.variables["two_lines"] = "first\\nsecond"
"""


def make_project(root: Path, pages: dict[str, str], snippets: dict[str, str] | None = None) -> Path:
    (root / "docs" / "fr").mkdir(parents=True, exist_ok=True)
    (root / "mkdocs.yml").write_text(MKDOCS_YML)
    (root / "fixture_macros.py").write_text(MACROS)
    # Its own rootdir, so that pytest does not climb to another project's config.
    (root / "pytest.ini").write_text("[pytest]\n")
    for rel, text in pages.items():
        path = root / "docs" / "fr" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    for rel, text in (snippets or {}).items():
        path = root / "snippets" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@dataclass
class Run:
    returncode: int
    output: str
    report: dict[str, Any]

    def page(self, name: str) -> dict[str, Any]:
        return self.report["pages"][f"docs/fr/{name}"]

    def example(self, name: str, line: int) -> dict[str, Any]:
        for e in self.page(name)["examples"]:
            if e["page_line"] == line:
                return e
        raise KeyError(f"no example at {name}:{line}: {self.page(name)['examples']}")


def run_doctest(root: Path, *args: str, timeout: float = 120) -> Run:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:doctest", "-p", "tools.doctest.plugin",
            "-p", "no:cacheprovider", "--cluster=none", "-rs", *args,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )  # fmt: skip
    report_path = root / "reports" / "doctest.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Run(proc.returncode, proc.stdout + proc.stderr, report)
