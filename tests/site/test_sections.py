"""Every section page has the same frame: learn and prerequisites as headings, one footer.

A section opens with "Ce que vous allez apprendre" and "Prérequis" as real `##` headings
(they then appear in the page's table of contents), and ends with the theme's footer, whose
previous/next links follow the course (hooks/reading_order.py): no page writes its own
previous/next line on top of it, in a style of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.site.conftest import ROOT
from tests.site.htmltext import headings

CHAPTER = "07-reseau-kubernetes-interne"
FRAME = {
    "fr": ("Ce que vous allez apprendre", "Prérequis"),
    "en": ("What you will learn", "Prerequisites"),
}
SECTIONS = sorted(p.stem for p in (ROOT / "docs" / "fr" / CHAPTER).glob("0*.md"))


def _built(site: Path, lang: str, stem: str) -> str:
    root = site if lang == "fr" else site / lang
    return (root / CHAPTER / stem / "index.html").read_text(encoding="utf-8")


def _footer_links(html: str) -> dict[str, str]:
    return dict(
        (kind, href)
        for href, kind in re.findall(
            r'<a href="([^"]*)" class="md-footer__link md-footer__link--(prev|next)"', html
        )
    )


def handwritten_previous_next(markdown: str, siblings: set[str]) -> list[str]:
    """Lines of a page's last paragraph that link to another section of the chapter."""
    paragraphs = [p for p in re.split(r"\n\s*\n", markdown.strip()) if p.strip()]
    last = paragraphs[-1] if paragraphs else ""
    targets = re.findall(r"\]\(([^)#]+\.md)", last)
    return [t for t in targets if Path(t).stem in siblings or t.endswith("index.md")]


def test_there_are_five_sections() -> None:
    assert len(SECTIONS) == 5


@pytest.mark.parametrize("lang", sorted(FRAME))
@pytest.mark.parametrize("stem", SECTIONS)
def test_section_frame(built_site: Path, lang: str, stem: str) -> None:
    html = _built(built_site, lang, stem)
    found = headings(html)
    for title in FRAME[lang]:
        assert (2, title) in found, f"{lang}/{stem} : « {title} » n'est pas un titre ##"
    # ... so they are in the table of contents too.
    toc = html[html.find('data-md-component="toc"') :]
    for title in FRAME[lang]:
        assert re.search(rf">\s*{re.escape(title)}\s*<", toc), f"{lang}/{stem} : {title}"


@pytest.mark.parametrize("lang", sorted(FRAME))
def test_the_footer_follows_the_course(built_site: Path, lang: str) -> None:
    chain = ["", *SECTIONS]  # the chapter introduction, then the sections
    for before, here, after in zip([None, *chain[:-1]], chain, [*chain[1:], None], strict=True):
        page = _built(built_site, lang, here) if here else None
        if page is None:
            root = built_site if lang == "fr" else built_site / lang
            page = (root / CHAPTER / "index.html").read_text(encoding="utf-8")
        links = _footer_links(page)
        if after is not None:
            assert links.get("next", "").rstrip("/").endswith(after), (lang, here, links)
        else:
            assert "next" not in links, f"{lang}/{here} : « suivant » hors du cours : {links}"
        if before is not None and before != "":
            assert links.get("prev", "").rstrip("/").endswith(before), (lang, here, links)


@pytest.mark.parametrize("lang", sorted(FRAME))
def test_no_handwritten_previous_next_line(lang: str) -> None:
    siblings = set(SECTIONS)
    problems = []
    for stem in SECTIONS:
        source = ROOT / "docs" / lang / CHAPTER / f"{stem}.md"
        found = handwritten_previous_next(source.read_text(encoding="utf-8"), siblings)
        if found:
            problems.append(f"{source.relative_to(ROOT)} : {found}")
    assert not problems, (
        "ligne précédent/suivant écrite à la main (le pied de page du thème la donne) :\n"
        + "\n".join(problems)
    )


def test_the_previous_next_detector() -> None:
    siblings = {"01-a", "02-b"}
    assert handwritten_previous_next(
        "Texte.\n\n---\n\n[← 7.1](01-a.md) · [7.3 →](02-b.md)\n", siblings
    )
    assert handwritten_previous_next(
        "| a | b |\n\n---\n\nSection précédente : [7.2](01-a.md) ·\nSection suivante : "
        "[7.4](02-b.md)\n",
        siblings,
    )
    assert not handwritten_previous_next("Voir la [section 7.1](01-a.md).\n\n| a | b |\n", siblings)
