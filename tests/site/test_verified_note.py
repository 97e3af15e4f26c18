"""The "verified" note on the built site, as the Pages workflow makes it.

The Pages workflow puts the doctest report of the same commit in reports/doctest.json, then
runs `nox -s docs`. Here: a copy of the project gets a report written by the harness's own
writer (tools/doctest/report.py) for the real pages, one of them with a failed example, and
every locale is built as `nox -s docs` builds it. Each covered page must carry the note
naming the cluster; the failed one a warning admonition; the English pages theirs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.site.conftest import ROOT
from tools.doctest.report import ExampleResult, PageEntry, RunInfo, write

CHAPTER = "07-reseau-kubernetes-interne"
FAILING = "03-dns-interne-avec-coredns"
COPIED = ("docs", "hooks", "macros", "snippets", "overrides", "tools", "mkdocs.yml")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "overrides" / "assets" / "vendor" / "mermaid.min.js").is_file():
        pytest.fail("Mermaid n'est pas installé : python tools/vendor_assets.py")
    copy = tmp_path_factory.mktemp("pages")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / name)
    for config in ROOT.glob("mkdocs.*.yml"):
        shutil.copy(config, copy / config.name)
    pages = {}
    for page in sorted((copy / "docs" / "fr" / CHAPTER).glob("0*.md")):
        rel = page.relative_to(copy).as_posix()
        failed = page.stem == FAILING
        examples = [ExampleResult(source=f"{rel}:{n}", status="passed") for n in range(10, 20)]
        if failed:
            examples[3] = ExampleResult(source=f"{rel}:13", status="failed", reason="diff")
        pages[rel] = PageEntry(rel, examples, inputs={rel: _sha(page)})
    run = RunInfo(
        provider="kind",
        server_version="v1.37.2",
        network_plugin="kindnet",
        nodes=1,
        date="2026-11-26T17:40:00+00:00",
    )
    write(copy / "reports" / "doctest.json", pages, run)
    for config in ["mkdocs.yml", *sorted(p.name for p in copy.glob("mkdocs.*.yml"))]:
        done = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config],
            cwd=copy,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(copy)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return copy / "site"


def _same_commands(stem: str) -> bool:
    """Whether the English page runs the French page's very commands (the hook's rule: the
    report verified those commands, not translated ones)."""
    from tools.markdown import fences

    def blocks(lang: str) -> list[str]:
        text = (ROOT / "docs" / lang / CHAPTER / f"{stem}.md").read_text(encoding="utf-8")
        return ["\n".join(f.body) for f in fences(text.split("\n")) if f.run_kind is not None]

    return blocks("fr") == blocks("en")


def _page(site: Path, lang: str, stem: str) -> str:
    root = site if lang == "fr" else site / lang
    return " ".join((root / CHAPTER / stem / "index.html").read_text(encoding="utf-8").split())


def test_every_covered_page_carries_the_note_with_its_cluster(site: Path) -> None:
    stems = sorted(p.stem for p in (ROOT / "docs" / "fr" / CHAPTER).glob("0*.md"))
    english_notes = 0
    for stem in stems:
        if stem == FAILING:
            continue
        html = _page(site, "fr", stem)
        assert 'class="doctest-note doctest-note--ok"' in html, stem
        # The typography hook has made the spaces of the note non-breaking too.
        assert (
            "10 exemples sur 10 vérifiés le 26/11/2026 sur un cluster kind "
            "(Kubernetes v1.37.2, réseau kindnet, 1 nœud)" in html.replace("\u202f", " ")
        ), stem
        english = _page(site, "en", stem)
        if not _same_commands(stem):
            assert "doctest-note" not in english, stem
            continue
        english_notes += 1
        assert (
            "10 of 10 examples verified on 2026-11-26 on a kind cluster "
            "(Kubernetes v1.37.2, kindnet network, 1 node)" in english
        ), stem
    assert english_notes >= 1


def test_a_page_with_failures_shows_a_warning_admonition(site: Path) -> None:
    html = _page(site, "fr", FAILING)
    assert "doctest-note--ok" not in html
    assert (
        '<div class="admonition warning doctest-note doctest-note--failed"> '
        '<p class="admonition-title">Exemples en échec</p>'
    ) in html
    assert "1 exemple sur 10 a échoué." in html
    if not _same_commands(FAILING):
        return
    english = _page(site, "en", FAILING)
    assert '<p class="admonition-title">Failing examples</p>' in english
    assert "1 of 10 examples failed." in english


def test_the_intro_has_no_note_the_report_does_not_cover(site: Path) -> None:
    assert "doctest-note" not in (site / CHAPTER / "index.html").read_text(encoding="utf-8")
