"""`nox -s serve` (python -m tools.serve): every locale served, each reloaded on change.

The server runs on a copy of the project (pages, configs, hooks, macros, snippets, overrides,
tools) in a temporary folder; the test edits a French page, an English page and a shared
snippet there, and sees each change in the served pages.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.site.conftest import ROOT

COPIED = ("docs", "hooks", "macros", "snippets", "overrides", "tools", "mkdocs.yml")
CHAPTER = "07-reseau-kubernetes-interne"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def _wait_for(url: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = _get(url)
        if status == 200 and text in body:
            # Let the rebuild of the other locales finish: a change made while MkDocs'
            # server is still building may wait for the next one.
            time.sleep(3)
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} : « {text} » absent après {timeout:.0f} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    if not (ROOT / "overrides" / "assets" / "vendor" / "mermaid.min.js").is_file():
        pytest.fail("Mermaid n'est pas installé : python tools/vendor_assets.py")
    copy = tmp_path_factory.mktemp("projet")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / name)
    for config in ROOT.glob("mkdocs.*.yml"):
        shutil.copy(config, copy / config.name)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.serve", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=copy,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(copy)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/", "Sommaire", timeout=90)
        yield copy, base
    finally:
        process.terminate()
        try:
            output = process.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
        if process.returncode not in (0, -15):
            print(output)


def test_every_locale_is_served(served: tuple[Path, str]) -> None:
    _copy, base = served
    for path in ("/", f"/{CHAPTER}/", "/en/", f"/en/{CHAPTER}/02-networking-cni/"):
        status, body = _get(base + path)
        assert status == 200, path
        assert "livereload" in body, f"{path} : pas de rechargement automatique"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, path
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_each_locale_and_the_shared_files_reload(served: tuple[Path, str]) -> None:
    copy, base = served
    _edit(copy / "docs/fr/index.md", "# Sommaire", "# Sommaire modifié-fr")
    _wait_for(base + "/", "Sommaire modifié-fr")
    english = copy / "docs/en/index.md"
    english.write_text(english.read_text(encoding="utf-8") + "\nmodified-en\n", encoding="utf-8")
    _wait_for(base + "/en/", "modified-en")
    # A shared snippet: the abbreviations, appended to every page of the French site.
    _edit(copy / "snippets/abbreviations.md", "*[CNI]: ", "*[CNI]: snippet-modifie ")
    _wait_for(base + f"/{CHAPTER}/", "snippet-modifie")
    # A hook: the footer credit comes from a partial, the note from hooks/; here the
    # typography hook's narrow space changes into a visible mark.
    _edit(copy / "hooks/typography.py", 'NBSP = "\\u00a0"', 'NBSP = "\\u00a0[hook]"')
    _wait_for(base + "/", "[hook]:")
