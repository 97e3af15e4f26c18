"""The built translations (site/<code>/): every French page exists there, linked and flagged.

Needs `nox -s docs` (French site in site/, each translation in site/<code>/).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.i18n.locales import discover

ROOT = Path(__file__).resolve().parents[2]
PROJECT = discover(ROOT)
LOCALES = [loc.code for loc in PROJECT.translations]
SECTIONS = sorted(
    p.name.removesuffix(".md")
    for p in (PROJECT.source.docs_dir / "07-reseau-kubernetes-interne").glob("0*.md")
)


def _html_pages(site: Path) -> list[Path]:
    """The French site's pages, without the translations' folders."""
    return [p for p in site.rglob("index.html") if p.relative_to(site).parts[0] not in LOCALES]


@pytest.mark.parametrize("code", LOCALES)
def test_every_french_page_exists_in_the_translation(built_site: Path, code: str) -> None:
    missing = [
        str(p.relative_to(built_site))
        for p in _html_pages(built_site)
        if not (built_site / code / p.relative_to(built_site)).is_file()
    ]
    assert not missing, f"absent de site/{code}/ : {missing}"


@pytest.mark.parametrize("code", LOCALES)
def test_untranslated_pages_carry_the_banner_and_translated_ones_do_not(
    built_site: Path, code: str
) -> None:
    locale = PROJECT.locale(code)
    for page in PROJECT.source.docs_dir.rglob("*.md"):
        rel = page.relative_to(PROJECT.source.docs_dir)
        url = rel.with_suffix("") if rel.name != "index.md" else rel.parent
        html = (built_site / code / url / "index.html").read_text(encoding="utf-8")
        translated = (locale.docs_dir / rel).is_file()
        assert ('data-i18n-banner="untranslated"' in html) is not translated, rel


@pytest.mark.parametrize("code", LOCALES)
def test_translated_home_and_intro_link_every_section(built_site: Path, code: str) -> None:
    # section_link sees the French pages: a section is linked as soon as it exists in French.
    home = (built_site / code / "index.html").read_text(encoding="utf-8")
    intro = (built_site / code / "07-reseau-kubernetes-interne" / "index.html").read_text(
        encoding="utf-8"
    )
    for section in SECTIONS:
        assert f'href="07-reseau-kubernetes-interne/{section}/"' in home, section
        assert re.search(rf'<h3 id="[^"]+"><a href="{section}/">', intro), section


def test_switcher_links_point_to_the_same_page(built_site: Path) -> None:
    page = built_site / "07-reseau-kubernetes-interne" / "index.html"
    links = dict(
        (lang, href)
        for href, lang in re.findall(
            r'<a href="([^"]*)" hreflang="([^"]*)"[^>]*class="md-select__link"',
            page.read_text(encoding="utf-8"),
        )
    )
    assert links["fr"] == "../07-reseau-kubernetes-interne/"
    for code in LOCALES:
        assert links[code] == f"../{code}/07-reseau-kubernetes-interne/"
