"""Every diagram of every page is legible: its text is at least 12 px on screen, in Chromium,
on a desktop (1280 px wide) and on a phone (390 px wide).

Mermaid scales a diagram to the width of the page; the site's diagrams.js stops the
shrinking at 12 px text and lets a wider diagram scroll sideways. This measures what the
reader gets: for each text of each rendered diagram, its computed font size times the
scale of the SVG on screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.site.htmltext import site_pages
from tests.site.test_browser import browser_context  # noqa: F401  (same Chromium set-up)

pytestmark = pytest.mark.browser

MIN_TEXT_PX = 12
WIDTHS = {"bureau": 1280, "téléphone": 390}

# Smallest on-screen text size of each diagram of the page (shadow roots are opened by the
# browser_context's init script), with the text that has it.
_MEASURE = """
() => [...document.querySelectorAll("div.mermaid")].map((host, index) => {
  const svg = (host.shadowRoot || host).querySelector("svg")
  if (!svg) return { index, px: null, text: "(pas de SVG)", width: 0 }
  let smallest = { px: Infinity, text: "" }
  for (const el of svg.querySelectorAll("text, tspan, foreignObject *")) {
    const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join("").trim()
    if (!text) continue
    const owner = el.closest("foreignObject") || el
    const ctm = owner.getScreenCTM()
    const px = parseFloat(getComputedStyle(el).fontSize) * (ctm ? Math.hypot(ctm.a, ctm.b) : 1)
    if (px < smallest.px) smallest = { px, text }
  }
  return { index, px: smallest.px, text: smallest.text, width: svg.getBoundingClientRect().width }
})
"""
_READY = """
n => {
  const hosts = document.querySelectorAll("div.mermaid")
  return hosts.length === n && [...hosts].every(h => (h.shadowRoot || h).querySelector("svg"))
}
"""


def pages_with_diagrams(site: Path) -> list[tuple[str, int]]:
    found = []
    for page in site_pages(site):
        count = page.read_text(encoding="utf-8").count('class="mermaid"')
        if count:
            found.append((page.relative_to(site).as_posix(), count))
    return found


def too_small(measures: list[dict], minimum: float = MIN_TEXT_PX) -> list[str]:
    return [
        f"schéma {m['index'] + 1} : {m['px']:.1f} px (« {m['text'][:40]} »)"
        for m in measures
        if m["px"] is None or m["px"] < minimum - 0.05
    ]


@pytest.fixture
def tab(browser_context: object) -> Iterator[object]:  # noqa: F811
    page = browser_context.new_page()  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        page.close()


def measure(tab: object, url: str, count: int, width: int) -> list[dict]:
    tab.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
    tab.goto(url)  # type: ignore[attr-defined]
    tab.wait_for_function(_READY, arg=count)  # type: ignore[attr-defined]
    return tab.evaluate(_MEASURE)  # type: ignore[attr-defined]


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_every_diagram_is_legible(
    tab: object, built_site: Path, site_url: str, device: str
) -> None:
    pages = pages_with_diagrams(built_site)
    assert sum(count for _, count in pages) >= 20, pages  # both locales' diagrams
    problems = []
    for rel, count in pages:
        measures = measure(tab, f"{site_url}/{rel}", count, WIDTHS[device])
        assert len(measures) == count, rel
        problems += [f"{rel} : {p}" for p in too_small(measures)]
    assert not problems, (
        f"texte de schéma sous {MIN_TEXT_PX} px ({device}, {WIDTHS[device]} px de large) :\n"
        + "\n".join(problems)
    )


def test_a_diagram_mermaid_scales_down_fails_the_check(tab: object, site_url: str) -> None:
    """Without diagrams.js (Mermaid alone, as Material draws it), a wide diagram is caught."""
    wide = "sequenceDiagram\n" + "\n".join(
        f"    participant P{i} as Participant numéro {i}" for i in range(8)
    )
    html = f"""<!doctype html><html><body style="width: 700px">
      <script src="{site_url}/assets/vendor/mermaid.min.js"></script>
      <div id="d"></div>
      <script>
        mermaid.initialize({{ startOnLoad: false }})
        mermaid.render("x", {wide!r}).then(r => {{
          const host = document.createElement("div"); host.className = "mermaid"
          host.attachShadow({{ mode: "open" }}).innerHTML = r.svg
          document.getElementById("d").replaceWith(host)
        }})
      </script></body></html>"""
    tab.goto(site_url + "/")  # type: ignore[attr-defined]  (same origin for the script)
    tab.set_content(html)  # type: ignore[attr-defined]
    tab.wait_for_function(_READY, arg=1)  # type: ignore[attr-defined]
    measures = tab.evaluate(_MEASURE)  # type: ignore[attr-defined]
    assert too_small(measures), measures
