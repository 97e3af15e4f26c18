"""The chapter introduction: the seed repaired, faithful, with aligned diagrams.

The seed (tests/site/data/seed-07-intro.txt, the course's text as received: UTF-8 read as
Windows-1252, some bytes lost) is the reference for the outline.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.site.conftest import ROOT
from tests.site.htmltext import headings
from tools.markdown import fences

SEED = Path(__file__).parent / "data" / "seed-07-intro.txt"
CHAPTER = "07-reseau-kubernetes-interne"
SOURCE = ROOT / "docs" / "fr" / CHAPTER / "index.md"
SNIPPET = ROOT / "snippets" / "07" / "intro" / "commandes-reference.sh"
SECTIONS = {
    "7.1 Concepts de base du réseau Kubernetes": "01-concepts-de-base-du-reseau-kubernetes",
    "7.2 Networking CNI (Container Network Interface)": "02-networking-cni",
    "7.3 DNS interne avec CoreDNS": "03-dns-interne-avec-coredns",
    "7.4 Communication Pod-to-Pod et Service-to-Pod": (
        "04-communication-pod-to-pod-et-service-to-pod"
    ),
    "7.5 Test de connectivité interne": "05-test-de-connectivite-interne",
}


def _fences(text: str) -> list[tuple[int, str, list[str]]]:
    """(first line number, info string, lines) of each fenced block."""
    return [(f.start + 2, f.info.strip(), list(f.body)) for f in fences(text.splitlines())]


def seed_headings() -> list[tuple[int, str]]:
    """Headings of the seed outside code blocks, repaired line by line."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    in_code = {k for f in fences(lines) for k in range(f.start, f.stop(len(lines)))}
    found = []
    for number, line in enumerate(lines):
        if number not in in_code and (match := re.match(r"(#{1,6}) (.+)", line)):
            # The seed is UTF-8 decoded as Windows-1252: encoding back gives the bytes.
            text = match[2].encode("cp1252").decode("utf-8")
            found.append((len(match[1]), " ".join(text.split())))
    return found


def test_the_seed_reference_is_readable() -> None:
    outline = seed_headings()
    assert len(outline) > 40
    assert outline[0] == (1, "7. Réseau Kubernetes Interne")
    assert (2, "État d'esprit pour réussir") in outline


def test_built_intro_has_every_seed_heading_with_its_level(built_site: Path) -> None:
    html = (built_site / CHAPTER / "index.html").read_text(encoding="utf-8")
    built = headings(html)
    missing = [h for h in seed_headings() if h not in built]
    assert not missing, f"titres du seed absents de la page construite : {missing}"


def _built_intro(site: Path) -> str:
    html = (site / CHAPTER / "index.html").read_text(encoding="utf-8")
    return re.sub(r"</?abbr[^>]*>", "", html)  # tooltips of the abbreviations file


def test_sections_link_to_their_page_once_it_exists(built_site: Path) -> None:
    html = _built_intro(built_site)
    for title, slug in SECTIONS.items():
        exists = (ROOT / "docs" / "fr" / CHAPTER / f"{slug}.md").is_file()
        linked = re.search(rf'<h3 [^>]*><a href="{slug}/">{re.escape(title)}</a>', html)
        plain = re.search(rf'<h3 [^>]*>{re.escape(title)}<a class="headerlink"', html)
        assert (linked is not None, plain is not None) == (exists, not exists), title
    first = SECTIONS["7.1 Concepts de base du réseau Kubernetes"]
    if (ROOT / "docs" / "fr" / CHAPTER / f"{first}.md").is_file():
        assert f'➡️ <a href="{first}/">Concepts de base du réseau Kubernetes</a>' in html
    else:
        assert "➡️ Concepts de base du réseau Kubernetes</p>" in html


def test_top_link_goes_back_to_the_site_home(built_site: Path) -> None:
    html = _built_intro(built_site)
    assert '🔝 Retour au <a href="../">Sommaire</a>' in html


def test_quick_reference_is_the_snippet_file_shown_as_bash(built_site: Path) -> None:
    source = SOURCE.read_text(encoding="utf-8")
    assert '--8<-- "07/intro/commandes-reference.sh"' in source
    commands = [
        line
        for line in SNIPPET.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert commands and all(c.startswith("microk8s kubectl ") for c in commands)
    html = (built_site / CHAPTER / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html).replace("&quot;", '"')
    for command in commands:
        assert command in text, command


def test_the_unsourced_quote_carries_no_attribution() -> None:
    source = SOURCE.read_text(encoding="utf-8")
    assert "> Le réseau Kubernetes n'est pas magique" in source
    assert "Hightower" not in source


def box_problems(lines: list[str]) -> list[str]:
    """Boxes ┌─┐ … └─┘ whose sides do not line up, arrows that point to nothing."""
    problems = []

    def at(row: int, col: int) -> str:
        return lines[row][col] if 0 <= row < len(lines) and col < len(lines[row]) else " "

    for row, line in enumerate(lines):
        for top in re.finditer(r"┌(─+)┐", line):
            left, right = top.start(), top.end() - 1
            below = row + 1
            while at(below, left) in "│├" and at(below, right) in "│┤":
                below += 1
            bottom = lines[below][left : right + 1] if below < len(lines) else ""
            if not re.fullmatch(r"└─+┘", bottom):
                problems.append(f"ligne {row + 1}, colonnes {left}-{right} : boîte mal fermée")
        for arrow in re.finditer("▼", line):
            if at(row - 1, arrow.start()) != "│":
                problems.append(f"ligne {row + 1}, colonne {arrow.start()} : ▼ sans │ au-dessus")
        for arrow in re.finditer("▶", line):
            if at(row, arrow.start() + 1) != "│":
                problems.append(f"ligne {row + 1}, colonne {arrow.start()} : ▶ ne touche rien")
    return problems


def test_box_checker_finds_misaligned_boxes() -> None:
    good = ["┌───┐  ┌───┐", "│ a │─▶│ b │", "└───┘  └───┘", "  │", "  ▼"]
    assert box_problems(good) == []
    assert box_problems(["┌───┐", "│ a  │", "└───┘"])
    assert box_problems(["┌───┐", "│ a │", "└────┘"])
    assert box_problems(["┌───┐", "│ a │─▶ │"])
    assert box_problems(["  │", "   ▼"])


def test_intro_diagrams_are_aligned_and_fully_repaired() -> None:
    source = SOURCE.read_text(encoding="utf-8")
    blocks = [b for b in _fences(source) if b[1] == "text"]
    assert blocks, "aucun schéma en texte"
    problems = []
    for first_line, _info, lines in blocks:
        problems += [f"bloc ligne {first_line}: {p}" for p in box_problems(lines)]
    assert not problems, "\n".join(problems)
    # Every top-right corner lost in the seed is back: one ┐ for each ┌.
    assert source.count("┌") == source.count("┐") > 0


def test_intro_has_a_mermaid_diagram_of_the_chapter() -> None:
    blocks = [b for b in _fences(SOURCE.read_text(encoding="utf-8")) if b[1] == "mermaid"]
    assert blocks
    diagram = "\n".join(blocks[0][2])
    for number in ("7.1", "7.2", "7.3", "7.4", "7.5"):
        assert number in diagram
