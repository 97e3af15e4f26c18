"""The built site in a real browser: Playwright driving Debian's Chromium on 127.0.0.1.

Every request the browser makes is recorded and must go to the test's own server; Chromium
also gets a proxy that does not exist and a resolver that resolves nothing but 127.0.0.1, so
a request that slips through still never leaves the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.site.conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no sandbox (root), no GPU, plus the flags without which Chromium calls Google
# at start-up: every request must go to the test server.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    # Safety net: anything not for loopback goes to a closed local port, names do not resolve.
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Material renders Mermaid into a *closed* shadow root; opened here so the test can see the SVG.
OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attachShadow.call(this, Object.assign({}, init, { mode: "open" }));
};
"""
CHAPTER = "07-reseau-kubernetes-interne"
TIMEOUT_MS = 20_000


@dataclass
class Watch:
    """What one page did: requests, console errors, uncaught exceptions."""

    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        foreign = [u for u in self.requests if not u.startswith((self.origin + "/", "data:"))]
        assert not foreign, f"requêtes hors de {self.origin} : {foreign}"
        assert not self.errors, f"erreurs dans la console : {self.errors}"


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} absent : `apt-get install chromium` (nox -s tests le fait).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
            locale="fr-FR",
            service_workers="block",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(OPEN_SHADOW_ROOTS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: object, site_url: str) -> Iterator[tuple[object, Watch]]:
    watch = Watch(site_url)
    tab = browser_context.new_page()  # type: ignore[attr-defined]
    tab.on("request", lambda request: watch.requests.append(request.url))
    tab.on(
        "console",
        lambda message: watch.errors.append(message.text) if message.type == "error" else None,
    )
    tab.on("pageerror", lambda error: watch.errors.append(str(error)))
    tab.on(
        "requestfailed",
        lambda request: (
            # Leaving a page cancels what it was still loading (the search worker's
            # lunr.fr.min.js, say): not an error. A blocked foreign request fails otherwise
            # (proxy, resolver) and is caught by assert_clean anyway.
            None
            if request.failure == "net::ERR_ABORTED"
            else watch.errors.append(f"échec ({request.failure}) : {request.url}")
        ),
    )
    tab.on(
        "response",
        lambda response: (
            watch.errors.append(f"HTTP {response.status} : {response.url}")
            if response.status >= 400
            else None
        ),
    )
    try:
        yield tab, watch
    finally:
        tab.close()


def _title(tab: object) -> str:
    # The heading's text ends with Material's permalink sign.
    return tab.locator("article h1").inner_text().removesuffix("¶").strip()  # type: ignore[attr-defined]


def test_home_opens(page: tuple[object, Watch], site_url: str) -> None:
    tab, watch = page
    response = tab.goto(site_url + "/")
    assert response is not None and response.status == 200
    assert _title(tab) == "Sommaire"
    assert tab.locator("html").get_attribute("lang") == "fr"
    # Macros rendered: the MicroK8s values are on the home page.
    assert "10.152.183.10" in tab.locator("article").inner_text()
    watch.assert_clean()


def test_chapter_is_reachable_from_the_navigation(
    page: tuple[object, Watch], site_url: str
) -> None:
    tab, watch = page
    tab.goto(site_url + "/")
    navigation = tab.locator("nav.md-nav--primary")
    navigation.get_by_role("link", name="7. Réseau Kubernetes Interne").first.click()
    tab.wait_for_url(re.compile(rf"/{CHAPTER}/$"))
    assert _title(tab) == "7. Réseau Kubernetes Interne"
    watch.assert_clean()


def test_french_search_finds_the_chapter(page: tuple[object, Watch], site_url: str) -> None:
    tab, watch = page
    tab.goto(site_url + "/")
    query = tab.locator("input[data-md-component=search-query]")
    assert query.get_attribute("placeholder") == "Rechercher"
    query.click()
    query.press_sequentially("CoreDNS", delay=30)
    results = tab.locator(f".md-search-result__item a[href*='{CHAPTER}/']")
    results.first.wait_for(state="visible")
    assert results.count() >= 1
    assert "CoreDNS" in tab.locator(".md-search-result").inner_text()
    watch.assert_clean()


def test_mermaid_diagram_renders_as_svg(page: tuple[object, Watch], site_url: str) -> None:
    # 7.1's first diagram (the introduction's chapter structure is the course's box drawing).
    section = "01-concepts-de-base-du-reseau-kubernetes"
    source = (ROOT / "docs" / "fr" / CHAPTER / f"{section}.md").read_text(encoding="utf-8")
    block = source[source.index("```mermaid") :]
    label = re.search(r'\["([^"<]+)', block[: block.index("\n```\n")])
    assert label, "aucune étiquette dans le premier schéma de 7.1"
    tab, watch = page
    tab.goto(f"{site_url}/{CHAPTER}/{section}/")
    diagram = tab.locator("div.mermaid svg").first
    try:
        diagram.wait_for(state="attached")
    except Exception:
        watch.assert_clean()  # a blocked CDN request explains a missing diagram best
        raise
    assert label[1] in (diagram.text_content() or "")
    assert diagram.locator("g.node").count() >= 2
    # Mermaid came from this site, not from a CDN.
    assert f"{site_url}/assets/vendor/mermaid.min.js" in watch.requests
    watch.assert_clean()


def test_code_blocks_have_a_copy_button(page: tuple[object, Watch], site_url: str) -> None:
    tab, watch = page
    tab.goto(f"{site_url}/{CHAPTER}/")
    buttons = tab.locator("button.md-code__button[data-md-type=copy]")
    buttons.first.wait_for(state="attached")
    assert buttons.count() >= 1
    assert buttons.first.get_attribute("title") == "Copier dans le presse-papier"
    watch.assert_clean()
