"""Checks over every file of the built site: no mojibake, nothing loaded from another host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.site.htmltext import MOJIBAKE, css_urls, is_external, loaded_urls


def _pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert pages, f"aucune page HTML dans {site}"
    return pages


def test_html_pages_have_no_mojibake(built_site: Path) -> None:
    problems = []
    for page in _pages(built_site):
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for match in MOJIBAKE.finditer(line):
                excerpt = line[max(0, match.start() - 30) : match.end() + 30]
                problems.append(f"{page.relative_to(built_site)}:{number}: …{excerpt}…")
    assert not problems, "mojibake :\n" + "\n".join(problems)


def _locale_of(site: Path, page: Path) -> str:
    """The French site is site/; another locale is built into site/<lang>/ (its own search)."""
    first = page.relative_to(site).parts[0]
    if (site / first / "search" / "search_index.json").is_file():
        return first
    return "fr"


def test_search_indexes_have_no_mojibake_and_match_their_locale(built_site: Path) -> None:
    indexes = sorted(built_site.rglob("search/search_index.json"))
    assert built_site / "search" / "search_index.json" in indexes
    for index in indexes:
        data = json.loads(index.read_text(encoding="utf-8"))
        assert data["config"]["lang"] == [_locale_of(built_site, index)], index
        bad = [d["location"] for d in data["docs"] if MOJIBAKE.search(d["title"] + d["text"])]
        assert not bad, f"mojibake dans {index} : {bad}"


def test_pages_load_nothing_from_another_host(built_site: Path) -> None:
    problems = []
    for page in _pages(built_site):
        html = page.read_text(encoding="utf-8")
        problems += [
            f"{page.relative_to(built_site)}: <{tag}> {url}"
            for tag, url in loaded_urls(html)
            if is_external(url)
        ]
    assert not problems, "chargé depuis un autre hôte :\n" + "\n".join(problems)


def test_stylesheets_load_nothing_from_another_host(built_site: Path) -> None:
    sheets = sorted(built_site.rglob("*.css"))
    assert sheets
    problems = [
        f"{sheet.relative_to(built_site)}: {url}"
        for sheet in sheets
        for url in css_urls(sheet.read_text(encoding="utf-8"))
        if is_external(url)
    ]
    assert not problems, "\n".join(problems)


def test_every_page_has_its_language_and_ships_its_own_mermaid(built_site: Path) -> None:
    assert (built_site / "assets" / "vendor" / "mermaid.min.js").stat().st_size > 100_000
    for page in _pages(built_site):
        if page.name == "404.html":
            continue
        html = page.read_text(encoding="utf-8")
        assert f'<html lang="{_locale_of(built_site, page)}"' in html, page
        assert "assets/vendor/mermaid.min.js" in html, page


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<script src="https://unpkg.com/mermaid@11/dist/mermaid.min.js"></script>', True),
        ('<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Roboto">', True),
        ('<link rel="preconnect" href="https://fonts.gstatic.com">', True),
        ('<img srcset="a.png 1x, https://cdn.example.org/b.png 2x">', True),
        ('<div style="background: url(https://cdn.example.org/x.png)"></div>', True),
        ("<style>@import 'https://cdn.example.org/x.css';</style>", True),
        ('<script src="assets/javascripts/bundle.js"></script>', False),
        ('<link rel="canonical" href="https://example.org/page/">', False),
        ('<a href="https://kubernetes.io/docs/">lien</a>', False),
        ('<img src="data:image/png;base64,AAAA">', False),
    ],
)
def test_the_external_load_detector(html: str, expected: bool) -> None:
    assert any(is_external(url) for _, url in loaded_urls(html)) is expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("RÃ©seau", True),
        ("â”Œâ”€â”€", True),
        ("ðŸ” Retour", True),
        ("âž¡ï¸ suite", True),
        ("perdu \ufffd ici", True),
        ("Réseau, âge, maïs, naïve, Île, À la fin, « guillemets »", False),
        ("┌─────┐ ▼ ➡️ 🔝 ✅", False),
    ],
)
def test_the_mojibake_detector(text: str, bad: bool) -> None:
    assert bool(MOJIBAKE.search(text)) is bad
