"""Fixtures for the site checks: the built site/, served on 127.0.0.1, and temporary builds."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `nox -s docs` builds the French site here; SITE_DIR lets the checks run on another build.
SITE = Path(os.environ.get("SITE_DIR", ROOT / "site"))


@pytest.fixture(scope="session")
def built_site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} n'est pas construit : lancez `nox -s docs` (ou `nox -s tests`).")
    return SITE


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site on 127.0.0.1 and a free port, served from a thread of the test."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _code_folders() -> list[str]:
    """Folders the config loads code from or watches, relative to itself: macros, hooks, tools.

    The temporary tree links each of them, so that it builds like the real site (MkDocs
    refuses a `watch:` entry that does not exist).
    """
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    folders = {"macros"}
    for key in ("hooks", "watch"):
        block = re.search(rf"^{key}:\n((?:[ \t]+.*\n|\n)+)", text, re.M)
        entries = re.findall(r"^[ \t]+-[ \t]+([^\s#]+)", block[1], re.M) if block else []
        folders |= {Path(e).parts[0] for e in entries}
    # overrides/ is copied (without Mermaid), not linked; snippets/ is the tree's own.
    return sorted(f for f in folders - {"overrides", "snippets"} if (ROOT / f).is_dir())


@dataclass
class Build:
    returncode: int
    output: str
    site: Path


BuildTree = Callable[..., Build]


@pytest.fixture
def build_tree(tmp_path: Path) -> BuildTree:
    """Build a small docs tree with the project's mkdocs.yml (inherited, as a locale would).

    `pages` and `snippets` map relative paths to contents; `mermaid=False` leaves out the
    vendored Mermaid file. The tree gets its own overrides/ copy so that nothing is written
    into the repository.
    """

    def build(
        pages: dict[str, str],
        snippets: dict[str, str] | None = None,
        mermaid: bool = True,
        extra_config: str = "",
    ) -> Build:
        for rel, text in pages.items():
            path = tmp_path / "docs" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        snippet_dir = tmp_path / "snippets"
        snippet_dir.mkdir(exist_ok=True)
        shutil.copy(ROOT / "snippets" / "abbreviations.md", snippet_dir)
        for rel, text in (snippets or {}).items():
            path = snippet_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        shutil.copytree(
            ROOT / "overrides",
            tmp_path / "overrides",
            ignore=shutil.ignore_patterns("vendor", "__pycache__"),
            dirs_exist_ok=True,
        )
        if mermaid:
            vendor = tmp_path / "overrides" / "assets" / "vendor"
            vendor.mkdir(parents=True, exist_ok=True)
            (vendor / "mermaid.min.js").write_text("/* stand-in for the tests */\n")
        for folder in _code_folders():
            link = tmp_path / folder
            if not link.exists():
                link.symlink_to(ROOT / folder, target_is_directory=True)
        (tmp_path / "mkdocs.yml").write_text(
            f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: docs\nsite_dir: site\n{extra_config}",
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml"],
            cwd=tmp_path,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        return Build(done.returncode, done.stdout + done.stderr, tmp_path / "site")

    return build
