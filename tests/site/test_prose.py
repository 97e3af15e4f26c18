"""The prose of the built pages, as readers get it: lists that are lists, French spaces.

- A Markdown list needs a blank line before it; without one, it renders inside the
  paragraph above, its items run together with " - " between them. The Markdown linter
  (rumdl, MD032, in `nox -s lint`) catches it in the sources; this check catches it in the
  HTML, whatever produced it (a macro, a snippet, a translation).
- French wants a non-breaking space before `: ; ? ! »` and after «: otherwise a line can
  start with a colon or a closing guillemet. hooks/typography.py puts them in; this check
  reads every French page (prose only: not code) and fails on a breakable one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.site.conftest import ROOT, BuildTree
from tests.site.htmltext import prose_runs, site_pages

# A line of a paragraph (or list item), after a line of text, that starts like a bullet
# ("- a", "* a"), or two such lines that start like numbered items ("1. a" then "2. b"): a
# wrapped line may well start with "15. " in prose, two in a row are a list.
_LIST_LINE = re.compile(
    r"\S[^\n]*\n[ \t]*[-*+][ \t]+\S"
    r"|\S[^\n]*\n[ \t]*\d{1,3}[.)][ \t]+\S[^\n]*\n[ \t]*\d{1,3}[.)][ \t]+\S"
)
# A breakable space (ordinary space, tab, line break) where French wants a fixed one.
_BREAKABLE = re.compile(r"[ \t\r\n]+(?=[:;?!»])|«[ \t\r\n]+")


def lists_in_paragraphs(html: str) -> list[str]:
    """Paragraphs (and list items) with a line that starts like a list item."""
    return [
        " ".join(text.split())[:100]
        for block, text in prose_runs(html)
        if block in ("p", "li") and _LIST_LINE.search(text)
    ]


def breakable_spaces(html: str) -> list[str]:
    """Excerpts of French prose with a breakable space before `: ; ? ! »` or after «."""
    found = []
    for _block, text in prose_runs(html):
        for match in _BREAKABLE.finditer(text):
            start, end = max(0, match.start() - 30), min(len(text), match.end() + 20)
            found.append(" ".join(text[start:end].split(" ")).replace("\n", "⏎"))
    return found


def _report(site: Path, check: object, lang: str | None = None) -> list[str]:
    problems = []
    for page in site_pages(site, lang):
        for excerpt in check(page.read_text(encoding="utf-8")):  # type: ignore[operator]
            problems.append(f"{page.relative_to(site)} : « {excerpt} »")
    return problems


def test_no_list_is_rendered_inside_a_paragraph(built_site: Path) -> None:
    problems = _report(built_site, lists_in_paragraphs)
    assert not problems, "liste rendue dans un paragraphe :\n" + "\n".join(problems)


def test_french_prose_has_no_breakable_space_before_double_signs(built_site: Path) -> None:
    problems = _report(built_site, breakable_spaces, lang="fr")
    assert len(site_pages(built_site, "fr")) >= 8
    assert not problems, (
        "espace sécable avant : ; ? ! » ou après « (hooks/typography.py) :\n"
        + "\n".join(problems[:40])
        + (f"\n… et {len(problems) - 40} autres" if len(problems) > 40 else "")
    )


# -- the checks can fail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "bad"),
    [
        ("<p><strong>1. Un réseau plat</strong>\n- Chaque Pod\n- Tous les Pods</p>", True),
        ("<p>Optionnel :\n1. Accès SSH\n2. Deux Go</p>", True),
        ("<p>Le troisième nombre va de 0 à\n15. La plage va donc de a à b.</p>", False),
        ("<nav><li><a>\n  1. Lisez dans l'ordre\n</a></li></nav>", False),
        ("<ul><li>a\n- b</li></ul>", True),
        ("<p>Une ligne\n<code>- pas une liste</code></p>", False),
        ("<pre><code>- dans du code\n- encore</code></pre>", False),
        ("<p>Un tiret - au milieu - d'une ligne</p>", False),
        ("<ul><li>a</li>\n<li>b</li></ul>", False),
    ],
)
def test_the_list_detector(html: str, bad: bool) -> None:
    assert bool(lists_in_paragraphs(html)) is bad


def test_a_list_without_blank_line_fails_the_check(build_tree: BuildTree) -> None:
    page = "# Essai\n\n**Un réseau plat**\n- Chaque Pod a son IP\n- Pas de NAT\n"
    build = build_tree({"index.md": page})
    assert build.returncode == 0, build.output
    html = (build.site / "index.html").read_text(encoding="utf-8")
    assert lists_in_paragraphs(html) == ["Un réseau plat - Chaque Pod a son IP - Pas de NAT"]


@pytest.mark.parametrize(
    ("html", "bad"),
    [
        ("<p>Le réseau : une ville</p>", True),
        ("<p>Vraiment ?</p>", True),
        ("<p>« guillemets\u202f»</p>", True),
        ("<p>«\u202fguillemets »</p>", True),
        ("<p>Le champ <code>x</code> :\u00a0valeur</p>", True),
        ("<p>un <em>mot</em> ; un autre</p>", True),
        ("<p>Le réseau\u00a0: une ville\u202f; «\u202fvraiment\u202f»\u202f?</p>", False),
        ("<pre><code>$ kubectl get pods ; echo ok : fin</code></pre>", False),
        ("<p><code>a : b</code> et <kbd>Ctrl + ?</kbd></p>", False),
        ("<p>http://exemple, 10:30, a?b</p>", False),
    ],
)
def test_the_breakable_space_detector(html: str, bad: bool) -> None:
    assert bool(breakable_spaces(html)) is bad


def test_a_french_page_without_the_hook_fails_the_check(build_tree: BuildTree) -> None:
    """The same page built with the hook passes, without it fails: the check sees the hook."""
    page = "# Essai\n\nLe réseau : une ville ; « vraiment » ?\n\n```bash\necho a ; b\n```\n"
    with_hook = build_tree({"index.md": page})
    assert with_hook.returncode == 0, with_hook.output
    html = (with_hook.site / "index.html").read_text(encoding="utf-8")
    assert breakable_spaces(html) == []
    assert "echo a ; b" in re.sub(r"<[^>]+>", "", html)  # code untouched
    hooks = [
        line
        for line in (ROOT / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
        if line.startswith("  - hooks/") and "typography" not in line
    ]
    without = build_tree({"index.md": page}, extra_config="hooks:\n" + "\n".join(hooks) + "\n")
    assert without.returncode == 0, without.output
    html = (without.site / "index.html").read_text(encoding="utf-8")
    assert len(breakable_spaces(html)) >= 4
