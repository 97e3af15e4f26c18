"""Languages in a real browser: the switcher keeps the reader on the same page and heading.

Needs both editions built (`nox -s docs`: site/ and site/en/). Same Chromium set-up and
request watch as test_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.site.test_browser import Watch, _title, browser_context, page  # noqa: F401

pytestmark = pytest.mark.browser

CHAPTER = "07-reseau-kubernetes-interne"
ROOT = Path(__file__).resolve().parents[2]


def _sections(*, translated: bool) -> list[str]:
    """Section pages of the chapter whose English translation exists (or not), as URL paths.

    Translations land one page at a time, so the tests pick their pages from the docs tree
    instead of naming one that may change side tomorrow.
    """
    french = sorted((ROOT / "docs/fr" / CHAPTER).glob("0*.md"))
    return [
        f"{CHAPTER}/{source.stem}"
        for source in french
        if (ROOT / "docs/en" / CHAPTER / source.name).exists() == translated
    ]


def _one_section(*, translated: bool) -> str:
    sections = _sections(translated=translated)
    if not sections:
        state = "translated" if translated else "untranslated"
        pytest.skip(f"no {state} section page right now (tests/unit/i18n covers both cases)")
    return sections[0]


def _switch(tab: object, lang: str) -> None:
    """Open the header's language menu and pick `lang`, as a reader does."""
    tab.locator(".md-header__option .md-select").hover()  # type: ignore[attr-defined]
    tab.locator(f"a.md-select__link[hreflang={lang}]").click()  # type: ignore[attr-defined]


def test_switching_language_on_a_section_page_lands_on_the_same_section(
    page: tuple[object, Watch],  # noqa: F811
    site_url: str,
) -> None:
    tab, watch = page
    section = _one_section(translated=True)
    tab.goto(f"{site_url}/{section}/")
    french_title = _title(tab)
    number = french_title.split()[0]
    assert re.fullmatch(r"7\.[1-5]", number), french_title

    _switch(tab, "en")
    tab.wait_for_url(f"{site_url}/en/{section}/")
    assert tab.locator("html").get_attribute("lang") == "en"
    english_title = _title(tab)
    assert english_title.split()[0] == number  # the same section…
    assert english_title != french_title  # …in English
    assert tab.locator("[data-i18n-banner=untranslated]").count() == 0

    _switch(tab, "fr")
    tab.wait_for_url(f"{site_url}/{section}/")
    assert tab.locator("html").get_attribute("lang") == "fr"
    assert _title(tab) == french_title
    watch.assert_clean()


def test_untranslated_section_is_served_in_french_with_an_english_banner(
    page: tuple[object, Watch],  # noqa: F811
    site_url: str,
) -> None:
    tab, watch = page
    section = _one_section(translated=False)
    tab.goto(f"{site_url}/{section}/")
    french_title = _title(tab)

    _switch(tab, "en")
    tab.wait_for_url(f"{site_url}/en/{section}/")
    assert tab.locator("html").get_attribute("lang") == "en"
    assert _title(tab) == french_title  # not translated yet: the French text…
    banner = tab.locator("[data-i18n-banner=untranslated]")
    assert "not been translated into English yet" in banner.inner_text()  # …said in English
    banner.locator("a").click()
    tab.wait_for_url(f"{site_url}/{section}/")
    watch.assert_clean()


def test_switch_keeps_the_heading(
    page: tuple[object, Watch],  # noqa: F811
    site_url: str,
) -> None:
    tab, watch = page
    # Every section page ends with a « Nettoyage » step; translations keep its anchor.
    section = _one_section(translated=True)
    tab.goto(f"{site_url}/{section}/#nettoyage")
    _switch(tab, "en")
    tab.wait_for_url(f"{site_url}/en/{section}/#nettoyage")
    assert tab.locator("#nettoyage").is_visible()
    watch.assert_clean()


def test_translated_page_switches_to_its_translation_with_english_search(
    page: tuple[object, Watch],  # noqa: F811
    site_url: str,
) -> None:
    tab, watch = page
    tab.goto(f"{site_url}/{CHAPTER}/")
    _switch(tab, "en")
    tab.wait_for_url(f"{site_url}/en/{CHAPTER}/")
    assert _title(tab) == "7. Kubernetes Internal Networking"
    # Translated (an "outdated" banner may show while the French source is ahead of it).
    assert tab.locator("[data-i18n-banner=untranslated]").count() == 0
    query = tab.locator("input[data-md-component=search-query]")
    assert query.get_attribute("placeholder") == "Search"
    query.click()
    query.press_sequentially("ephemerality", delay=30)
    results = tab.locator(f".md-search-result__item a[href*='{CHAPTER}/']")
    results.first.wait_for(state="visible")
    assert re.search(r"Ephemerality", tab.locator(".md-search-result").inner_text())
    watch.assert_clean()
