"""The site search, as readers use it: prose in the previews, accents optional in French.

- No Mermaid source in any search index (hooks/search.py marks the diagrams
  `data-search-exclude`): a preview showing `sequenceDiagram` and arrows helps no one.
- In Chromium, on the French site, "reseau" finds every page "réseau" finds
  (hooks/search.py indexes accented words with and without their accents).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.site.conftest import ROOT
from tests.site.test_browser import Watch, page  # noqa: F401  (same Chromium set-up)
from tests.site.test_browser import browser_context  # noqa: F401

# The first line of a Mermaid diagram: its type (and direction).
MERMAID_SOURCE = re.compile(
    r"\b(?:flowchart|graph)\s+(?:TB|TD|BT|RL|LR)\b"
    r"|\b(?:sequenceDiagram|stateDiagram(?:-v2)?|classDiagram|erDiagram|gantt|mindmap)\b"
    r"|\bparticipant\s+\w+\s+as\b"
)


def mermaid_in_index(index: dict) -> list[str]:
    """(location: excerpt) of the index entries that hold Mermaid source."""
    found = []
    for doc in index["docs"]:
        match = MERMAID_SOURCE.search(doc["text"])
        if match:
            found.append(f"{doc['location']} : …{doc['text'][match.start() : match.start() + 60]}…")
    return found


def test_no_search_index_holds_mermaid_source(built_site: Path) -> None:
    indexes = sorted(built_site.rglob("search/search_index.json"))
    assert len(indexes) >= 2  # every locale has its own
    # The pages do have diagrams: the check is not vacuous.
    assert (
        "```mermaid"
        in (ROOT / "docs/fr/07-reseau-kubernetes-interne/02-networking-cni.md").read_text()
    )
    problems = [
        f"{index.relative_to(built_site)} {found}"
        for index in indexes
        for found in mermaid_in_index(json.loads(index.read_text(encoding="utf-8")))
    ]
    assert not problems, "source Mermaid dans l'index de recherche :\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("sequenceDiagram participant K as kubelet participant C as containerd", True),
        ('flowchart LR C["Pod client"] -- "1. DNS" --> D["CoreDNS"]', True),
        ("graph TD a --> b", True),
        ("Le diagramme de séquence montre le kubelet puis containerd.", False),
        ("Un graphe orienté : le trafic va de gauche à droite.", False),
    ],
)
def test_the_mermaid_detector(text: str, bad: bool) -> None:
    assert bool(mermaid_in_index({"docs": [{"location": "x/", "text": text}]})) is bad


def _results(tab: object, site_url: str, query: str) -> set[str]:
    """The pages the search box lists for `query` (every result, not only the first ones)."""
    tab.goto(site_url + "/")  # type: ignore[attr-defined]
    box = tab.locator("input[data-md-component=search-query]")  # type: ignore[attr-defined]
    box.click()
    box.press_sequentially(query, delay=30)
    # "N documents trouvés" once the worker has answered this query.
    tab.wait_for_function(  # type: ignore[attr-defined]
        """q => {
          const meta = document.querySelector(".md-search-result__meta")
          const box = document.querySelector("input[data-md-component=search-query]")
          return box.value === q && meta && /\\d|Aucun/.test(meta.textContent)
        }""",
        arg=query,
    )
    tab.wait_for_timeout(300)  # the list is drawn right after the count
    links = tab.locator(".md-search-result__item > a")  # type: ignore[attr-defined]
    hrefs = links.evaluate_all("els => els.map(a => a.href)")
    return {urlsplit(href).path for href in hrefs}  # without ?h=<highlight> and #anchor


@pytest.mark.browser
def test_french_search_ignores_accents(page: tuple[object, Watch], site_url: str) -> None:  # noqa: F811
    tab, watch = page
    accented = _results(tab, site_url, "réseau")
    bare = _results(tab, site_url, "reseau")
    assert len(accented) >= 5, accented
    # "reseau" may find more: paths and file names write it without accent.
    missing = sorted(accented - bare)
    assert not missing, f"« réseau » trouve ces pages, « reseau » non : {missing}"
    watch.assert_clean()
