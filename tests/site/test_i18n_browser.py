"""Languages in a real browser: the switcher keeps the reader on the same page and heading.

Needs both editions built (`nox -s docs`: site/ and site/en/). Same Chromium set-up and
request watch as test_browser.py.
"""

from __future__ import annotations

import re

import pytest

from tests.site.test_browser import Watch, _title, browser_context, page  # noqa: F401

pytestmark = pytest.mark.browser

CHAPTER = "07-reseau-kubernetes-interne"
# A section page: untranslated ones are served from French in the English edition.
SECTION = f"{CHAPTER}/03-dns-interne-avec-coredns"


def _switch(tab: object, lang: str) -> None:
    """Open the header's language menu and pick `lang`, as a reader does."""
    tab.locator(".md-header__option .md-select").hover()  # type: ignore[attr-defined]
    tab.locator(f"a.md-select__link[hreflang={lang}]").click()  # type: ignore[attr-defined]


def test_switching_language_on_a_section_page_lands_on_the_same_section(
    page: tuple[object, Watch],  # noqa: F811
    site_url: str,
) -> None:
    tab, watch = page
    tab.goto(f"{site_url}/{SECTION}/")
    french_title = _title(tab)
    assert french_title.startswith("7.3")

    _switch(tab, "en")
    tab.wait_for_url(f"{site_url}/en/{SECTION}/")
    assert tab.locator("html").get_attribute("lang") == "en"
    assert _title(tab) == french_title  # not translated yet: the French text…
    banner = tab.locator("[data-i18n-banner=untranslated]")
    assert "not been translated into English yet" in banner.inner_text()  # …said in English

    _switch(tab, "fr")
    tab.wait_for_url(f"{site_url}/{SECTION}/")
    assert tab.locator("html").get_attribute("lang") == "fr"
    assert _title(tab) == french_title
    watch.assert_clean()


def test_switch_keeps_the_heading_and_the_banner_links_the_french_page(
    page: tuple[object, Watch],  # noqa: F811
    site_url: str,
) -> None:
    tab, watch = page
    tab.goto(f"{site_url}/{SECTION}/#nettoyage")
    _switch(tab, "en")
    tab.wait_for_url(f"{site_url}/en/{SECTION}/#nettoyage")
    tab.locator("[data-i18n-banner=untranslated] a").click()
    tab.wait_for_url(f"{site_url}/{SECTION}/")
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
