"""MkDocs hook: the site search finds prose, with or without accents.

- Mermaid sources are not prose: a result preview showing `flowchart LR` and arrows helps
  no one. Each Mermaid block gets Material's `data-search-exclude` attribute, so the search
  plugin leaves it out of the index (the diagram is still drawn).
- French readers often type without accents: "reseau" must find what "réseau" finds. The
  search runs in the browser with lunr and its French pipeline (lunr-languages, shipped by
  Material); neither folds accents. After the build, this hook appends to the site's
  `lunr.fr.min.js` (the file Material's search worker loads for French) a pipeline step
  that indexes every accented word twice: as written and without its accents. A query
  typed either way then matches (Material turns each term into a prefix query, which skips
  the query pipeline, so the folding has to be in the index). Highlighting is unchanged:
  both forms point to the same place in the text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

_MERMAID = re.compile(r'<(pre|div) class="mermaid"(?![^>]*data-search-exclude)')

MARKER = "/* reseau-k8s: accent folding */"
# Runs inside Material's search worker, after lunr-languages' French support is loaded.
FOLDING = (
    MARKER
    + """
(function () {
  var french = lunr.fr
  if (!french || french.accentFolding) return
  var fold = function (token) {
    var bare = token.toString().normalize("NFD").replace(/[\\u0300-\\u036f]/g, "")
    if (bare === token.toString()) return token
    return [token, token.clone(function () { return bare })]
  }
  lunr.Pipeline.registerFunction(fold, "accentFolding-fr")
  lunr.fr = function () {
    french.apply(this, arguments)
    this.pipeline.add(fold)
  }
  for (var key in french) lunr.fr[key] = french[key]
  lunr.fr.accentFolding = fold
})();
"""
)


def on_page_content(html: str, page: Page, **_: Any) -> str:
    return _MERMAID.sub(r'<\1 class="mermaid" data-search-exclude', html)


def _search_langs(config: MkDocsConfig) -> list[str]:
    search = config.plugins.get("material/search") or config.plugins.get("search")
    langs = getattr(search, "config", {}).get("lang") if search is not None else None
    if isinstance(langs, str):
        return [langs]
    return list(langs or [])


def on_post_build(config: MkDocsConfig, **_: Any) -> None:
    if "fr" not in _search_langs(config):
        return
    path = Path(config.site_dir) / "assets" / "javascripts" / "lunr" / "min" / "lunr.fr.min.js"
    if not path.is_file():
        raise PluginError(
            f"recherche : {path} est introuvable ; Material a changé l'emplacement de "
            "lunr-languages, hooks/search.py doit le suivre."
        )
    text = path.read_text(encoding="utf-8")
    if MARKER not in text:
        path.write_text(text.rstrip("\n") + "\n" + FOLDING, encoding="utf-8")
