"""Accessibility of every built page: axe-core in Debian's Chromium, light and dark schemes,
desktop and phone widths.

axe-core's script comes from the PyPI package axe-playwright-python (its bundled
axe.min.js, read from the installed package; only the script is used, the run and the
report are ours), so nothing is fetched from a CDN. Every page of site/ (site/en/ included)
is served on 127.0.0.1 and checked in the light scheme with every rule axe runs by default,
then in the dark scheme with the rules whose verdict depends on colours, then at a phone's
width (390 px) with every rule.

A `critical` or `serious` violation, or any `landmark-unique` or `empty-table-header`
(moderate and minor for axe, but they leave a screen-reader user lost), fails the test
unless tests/site/a11y_allowlist.py explains that Material causes it on exactly those
elements. Everything, including the
allowed and the `moderate`/`minor` ones, goes to the printed summary and reports/a11y.json.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import pytest

from tests.site.a11y_allowlist import ALLOWED, Allowed
from tests.site.conftest import ROOT
from tests.site.test_browser import browser_context  # noqa: F401  (same Chromium set-up)

pytestmark = pytest.mark.browser

BLOCKING = ("critical", "serious")
# Rules that fail whatever impact axe gives them (moderate, minor): two navigation landmarks
# with the same name, or a table header cell without text, leave a screen-reader user lost.
ALWAYS_BLOCKING = ("landmark-unique", "empty-table-header")
REPORT = ROOT / "reports" / "a11y.json"
# The dark scheme changes colours only: the rules about colours are run again there. On a
# phone (390 px) Material lays the page out anew (drawer navigation, no table of contents
# column): every rule again, in the light scheme.
SCHEMES: dict[str, list[str] | None] = {
    "light": None,
    "dark": ["color-contrast", "link-in-text-block"],
    "phone": None,
}
COLOR_SCHEME = {"light": "light", "dark": "dark", "phone": "light"}
WIDTH = {"light": 1400, "dark": 1400, "phone": 390}
MATERIAL_SCHEME = {"light": "default", "dark": "slate"}

# Runs axe in the page, then tells for each node which allow-list entry (index) covers it:
# the element is found again from axe's target (a shadow-DOM path is a list of selectors).
_RUN_AXE = """
async ([rules, allowed]) => {
  const options = { resultTypes: ["violations"] };
  if (rules) options.runOnly = { type: "rule", values: rules };
  const results = await axe.run(document, options);
  const find = (target) => {
    const last = target[target.length - 1];
    let root = document, element = null;
    for (const selector of Array.isArray(last) ? last : [last]) {
      element = root.querySelector(selector);
      if (!element) return null;
      root = element.shadowRoot || element;
    }
    return element;
  };
  return {
    version: axe.version,
    violations: results.violations.map((v) => ({
      rule: v.id,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => {
        const element = find(n.target);
        return {
          target: n.target.flat().join(" >>> "),
          impact: n.impact || v.impact,
          allowed: element
            ? allowed.findIndex((a) => a.rule === v.id && element.matches(a.selector))
            : -1,
        };
      }),
    })),
  };
}
"""


@dataclass
class Violation:
    """One rule broken on one page: how many nodes, how bad, and whether it is ours."""

    rule: str
    impact: str  # the worst impact among the nodes not allowed (or among all of them)
    count: int
    allowed: int  # nodes covered by the allow-list
    blocking: bool
    target: str  # a selector of the first node not covered (or of the first node)
    help: str
    help_url: str
    allowed_by: dict[str, int] = field(default_factory=dict)  # entry selector → nodes


@dataclass
class PageResult:
    page: str
    scheme: str
    seconds: float
    violations: list[Violation]


def axe_script() -> str:
    try:
        return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()
    except ModuleNotFoundError:
        pytest.fail("axe-playwright-python absent : nox -s tests l'installe (groupe test).")


def built_pages(site: Path) -> list[str]:
    """Every HTML page of the built site (both languages), relative to it."""
    return sorted(
        path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if "assets" not in path.relative_to(site).parts
    )


_IMPACTS = ("critical", "serious", "moderate", "minor")


def classify(raw: dict, allowed: tuple[Allowed, ...] = ALLOWED) -> list[Violation]:
    """axe's raw result → one Violation per rule, blocking if a serious node is not allowed."""
    violations = []
    for item in raw["violations"]:
        nodes = item["nodes"]
        free = [n for n in nodes if n["allowed"] < 0]
        by_entry: dict[str, int] = {}
        for node in nodes:
            if node["allowed"] >= 0:
                selector = allowed[node["allowed"]].selector
                by_entry[selector] = by_entry.get(selector, 0) + 1
        violations.append(
            Violation(
                rule=item["rule"],
                impact=min((n["impact"] for n in free or nodes), key=_IMPACTS.index),
                count=len(nodes),
                allowed=len(nodes) - len(free),
                blocking=any(
                    n["impact"] in BLOCKING or item["rule"] in ALWAYS_BLOCKING for n in free
                ),
                target=(free or nodes)[0]["target"],
                help=item["help"],
                help_url=item["helpUrl"],
                allowed_by=by_entry,
            )
        )
    return violations


def run_axe(tab: object, rules: list[str] | None) -> dict:
    """axe on the page open in `tab` (its script injected now), with allow-list matches."""
    tab.add_script_tag(content=axe_script())  # type: ignore[attr-defined]
    entries = [{"rule": a.rule, "selector": a.selector} for a in ALLOWED]
    return tab.evaluate(_RUN_AXE, [rules, entries])  # type: ignore[attr-defined]


def summary(
    results: list[PageResult], rules: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """Readable lines (blocking first, then the rest grouped by rule, then the allowed) and
    the blocking ones alone. `rules`: those that ran (None: all)."""
    blocking = [
        f"ÉCHEC {r.page} : {v.rule} ({v.impact}) ×{v.count - v.allowed} : {v.target}"
        for r in results
        for v in r.violations
        if v.blocking
    ]
    others: dict[tuple[str, str], list[tuple[str, Violation]]] = {}
    allowed: dict[tuple[str, str], tuple[set[str], int]] = {}
    for result in results:
        for violation in result.violations:
            if not violation.blocking and violation.allowed < violation.count:
                key = (violation.rule, violation.impact)
                others.setdefault(key, []).append((result.page, violation))
            for selector, nodes in violation.allowed_by.items():
                pages, total = allowed.get((violation.rule, selector), (set(), 0))
                allowed[(violation.rule, selector)] = (pages | {result.page}, total + nodes)
    lines = list(blocking)
    for (rule, impact), found in sorted(others.items()):
        page, first = found[0]
        more = f" (et {len(found) - 1} autre(s) page(s))" if len(found) > 1 else ""
        lines.append(f"à voir ({impact}) {rule} : {page}{more} : {first.target}")
    for (rule, selector), (pages, nodes) in sorted(allowed.items()):
        lines.append(f"permis (Material) {rule} sur {selector} : {nodes} nœuds, {len(pages)} pages")
    unused = [
        a
        for a in ALLOWED
        if (a.rule, a.selector) not in allowed and (rules is None or a.rule in rules)
    ]
    lines += [f"entrée sans effet ici : {a.rule} sur {a.selector}" for a in unused]
    return lines, blocking


# Results of the schemes run so far in this session, written together to the report.
_RESULTS: dict[str, list[PageResult]] = {}
_AXE_VERSION: list[str] = []


def _write_report() -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "axe_core": _AXE_VERSION[0] if _AXE_VERSION else None,
                "blocking_impacts": list(BLOCKING),
                "schemes": sorted(_RESULTS),
                "pages": [asdict(r) for results in _RESULTS.values() for r in results],
                "allow_list": [asdict(entry) for entry in ALLOWED],
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


@pytest.fixture
def tab(browser_context: object, site_url: str) -> Iterator[tuple[object, list[str]]]:  # noqa: F811
    """A new tab, with the URL of every request that does not go to the test's server."""
    page = browser_context.new_page()  # type: ignore[attr-defined]
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((site_url + "/", "data:")) else foreign.append(r.url),
    )
    try:
        yield page, foreign
    finally:
        page.close()


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_every_page_passes_axe(
    scheme: str,
    tab: tuple[object, list[str]],
    built_site: Path,
    site_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page, foreign = tab
    pages = built_pages(built_site)
    assert pages, f"aucune page HTML dans {built_site}"
    page.emulate_media(color_scheme=COLOR_SCHEME[scheme])  # type: ignore[attr-defined]
    page.set_viewport_size({"width": WIDTH[scheme], "height": 900})  # type: ignore[attr-defined]
    results: list[PageResult] = []
    started = time.monotonic()
    for rel in pages:
        begin = time.monotonic()
        page.goto(f"{site_url}/{rel}", wait_until="load")  # type: ignore[attr-defined]
        # Mermaid draws after load; its SVG is checked too (the shadow root is opened).
        if page.locator("div.mermaid").count():  # type: ignore[attr-defined]
            page.locator("div.mermaid svg").first.wait_for(state="attached")  # type: ignore[attr-defined]
        shown = page.evaluate("document.body.getAttribute('data-md-color-scheme')")  # type: ignore[attr-defined]
        expected = MATERIAL_SCHEME[COLOR_SCHEME[scheme]]
        assert shown == expected, f"{rel} : palette {shown!r} en mode {scheme}"
        raw = run_axe(page, SCHEMES[scheme])
        _AXE_VERSION[:] = [raw["version"]]
        results.append(PageResult(rel, scheme, round(time.monotonic() - begin, 2), classify(raw)))
    elapsed = time.monotonic() - started
    _RESULTS[scheme] = results
    _write_report()

    lines, blocking = summary(results, SCHEMES[scheme])
    slowest = max(results, key=lambda r: r.seconds)
    with capsys.disabled():
        print(
            f"\naxe-core {_AXE_VERSION[0]}, thème {scheme} : {len(pages)} pages en {elapsed:.1f} s "
            f"(la plus lente : {slowest.page}, {slowest.seconds:.1f} s), "
            f"{len(blocking)} violation(s) bloquante(s) → {REPORT.relative_to(ROOT)}"
        )
        for line in lines:
            print("  " + line)
    assert not foreign, f"requêtes hors du serveur de test : {foreign}"
    if blocking:
        pytest.fail(
            f"{len(blocking)} violation(s) critical/serious causées par le projet "
            f"(thème {scheme}) :\n"
            + "\n".join(blocking)
            + "\nDétail : reports/a11y.json ; Material seul en cause → "
            "tests/site/a11y_allowlist.py (règle, sélecteur, raison).",
            pytrace=False,
        )


# The gate itself: a project-made violation fails, an allowed Material one does not.
_BAD_PAGE = """<!doctype html><html lang="fr"><head><title>Essai</title></head><body>
<main>
  <h1>Essai</h1>
  <p>Une image sans texte de remplacement :
     <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10"></p>
  <div class="md-search" data-md-component="search" role="dialog"><p>recherche</p></div>
</main>
</body></html>"""


def test_a_project_violation_fails_and_an_allowed_one_does_not(
    tab: tuple[object, list[str]],
) -> None:
    page, _ = tab
    page.set_content(_BAD_PAGE)  # type: ignore[attr-defined]
    violations = {v.rule: v for v in classify(run_axe(page, None))}
    assert "image-alt" in violations, violations
    assert violations["image-alt"].impact == "critical"
    assert violations["image-alt"].blocking
    # Same page, Material's search dialog: reported, covered by the allow-list.
    dialog = violations["aria-dialog-name"]
    assert (dialog.blocking, dialog.allowed, dialog.count) == (False, 1, 1)
    assert dialog.allowed_by == {".md-search[role=dialog]": 1}


_UNNAMED_LANDMARKS = """<!doctype html><html lang="fr"><head><title>Essai</title></head><body>
<nav aria-labelledby="a"><label id="a"><span></span></label><a href="#">Un</a></nav>
<nav aria-labelledby="b"><label id="b"><span></span></label><a href="#">Deux</a></nav>
<main><h1>Essai</h1>
<table><thead><tr><th></th><th>Configuration</th></tr></thead>
<tbody><tr><td>MicroK8s</td><td>/var/snap</td></tr></tbody></table></main>
</body></html>"""


def test_unnamed_landmarks_and_empty_headers_fail(tab: tuple[object, list[str]]) -> None:
    """Material's section navs before hooks/nav_labels.py, and a `| | a | b |` table."""
    page, _ = tab
    page.set_content(_UNNAMED_LANDMARKS)  # type: ignore[attr-defined]
    violations = {v.rule: v for v in classify(run_axe(page, None))}
    for rule in ALWAYS_BLOCKING:
        assert rule in violations, violations
        assert violations[rule].impact in ("moderate", "minor")
        assert violations[rule].blocking


def test_an_allow_list_entry_covers_only_its_selector(tab: tuple[object, list[str]]) -> None:
    page, _ = tab
    # A dialog without a name that is not Material's search box: not covered.
    page.set_content(_BAD_PAGE.replace('class="md-search"', 'class="ma-boite"'))  # type: ignore[attr-defined]
    dialog = {v.rule: v for v in classify(run_axe(page, None))}["aria-dialog-name"]
    assert dialog.blocking and dialog.allowed == 0
    [line] = summary([PageResult("essai.html", "light", 0.0, [dialog])])[1]
    assert line.startswith("ÉCHEC essai.html : aria-dialog-name (serious) ×1 : "), line
