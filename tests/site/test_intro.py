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


def _emoji(code: str) -> str:
    """How the site draws an emoji written as a shortcode: inline SVG labelled with it."""
    return rf'<span aria-label="{code}" class="twemoji" role="img"><svg [^>]*>.*?</svg></span>'


def test_sections_link_to_their_page_once_it_exists(built_site: Path) -> None:
    html = _built_intro(built_site)
    for title, slug in SECTIONS.items():
        exists = (ROOT / "docs" / "fr" / CHAPTER / f"{slug}.md").is_file()
        linked = re.search(rf'<h3 [^>]*><a href="{slug}/">{re.escape(title)}</a>', html)
        plain = re.search(rf'<h3 [^>]*>{re.escape(title)}<a class="headerlink"', html)
        assert (linked is not None, plain is not None) == (exists, not exists), title
    # The seed's last line: ⏭️ (its lost bytes are those of U+23ED), then the first section.
    first = SECTIONS["7.1 Concepts de base du réseau Kubernetes"]
    if (ROOT / "docs" / "fr" / CHAPTER / f"{first}.md").is_file():
        target = f'<a href="{first}/">Concepts de base du réseau Kubernetes</a>'
    else:
        target = "Concepts de base du réseau Kubernetes"
    assert re.search(_emoji("⏭") + " " + re.escape(target) + "</p>", html, re.S)


def test_the_seed_ends_with_the_next_track_symbol() -> None:
    # "âï¸": E2, two bytes lost (cp1252 has no 0x8F, and U+00AD vanished), then EF B8
    # with its 8F lost (the emoji variation selector). E2 8F AD is U+23ED ⏭, not ➡ (E2 9E A1,
    # whose bytes "ž¡" would have survived).
    last = SEED.read_text(encoding="utf-8").rstrip().splitlines()[-1]
    assert last.startswith("âï¸ ")
    source = SOURCE.read_text(encoding="utf-8").rstrip().splitlines()[-1]
    assert source.startswith(":track_next: ")  # pymdownx.emoji's name for U+23ED
    assert "➡" not in SOURCE.read_text(encoding="utf-8")


def test_top_link_goes_back_to_the_site_home(built_site: Path) -> None:
    html = _built_intro(built_site)
    assert re.search(_emoji("🔝") + ' Retour au <a href="../">Sommaire</a>', html, re.S)


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


def test_the_unsourced_quote_carries_no_attribution(built_site: Path) -> None:
    source = SOURCE.read_text(encoding="utf-8")
    assert "> Le réseau Kubernetes n'est pas magique" in source
    # The reason is in the page's source, for the next writer, and nowhere on the site.
    comment = re.search(r"<!-- Pourquoi la phrase n'est pas attribuée : (.*?)-->", source, re.S)
    assert comment and "source" in comment[1]
    assert "Hightower" not in re.sub(r"<!--.*?-->", "", source, flags=re.S)
    shown = re.sub(r"<!--.*?-->", "", _built_intro(built_site), flags=re.S)
    assert "Hightower" not in shown


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


def repaired_seed_block(title: str) -> list[str]:
    """The lines of the seed's code block under the heading `title`, bytes restored."""
    seed = SEED.read_text(encoding="utf-8")
    section = seed[seed.index(f"## {title}") :]
    body = section[section.index("```\n") + 4 : section.index("\n```", section.index("```\n"))]
    raw = body.encode("cp1252")
    # Box-drawing characters are E2 94 xx; cp1252 has no 0x90, so "┐" (E2 94 90) lost its
    # last byte, the only one of the drawing's characters that can.
    raw = re.sub(rb"\xe2\x94(?=[\n ]|$)", b"\xe2\x94\x90", raw)
    return raw.decode("utf-8").splitlines()


def right_edge_problems(lines: list[str]) -> list[str]:
    """A bracket drawn with ┐ │ ┤ ┘ down one column: every piece of it in that column."""
    problems = []
    for row, line in enumerate(lines):
        for top in re.finditer("┐", line):
            col, below = top.start(), row + 1
            while below < len(lines) and lines[below][col : col + 1] in ("│", "┤"):
                below += 1
            if lines[below][col : col + 1] != "┘" if below < len(lines) else True:
                problems.append(f"ligne {row + 1}, colonne {col} : ┐ sans ┘ en dessous")
    return problems


def test_right_edge_checker_finds_misaligned_brackets() -> None:
    assert right_edge_problems(["a ─┐", "   │ x", "b ─┘"]) == []
    assert right_edge_problems(["a ─┐", "    │ x", "b ─┘"])
    assert right_edge_problems(["a ─┐", "   │", "b ──┘"])


def test_intro_diagrams_are_aligned_and_fully_repaired() -> None:
    source = SOURCE.read_text(encoding="utf-8")
    blocks = [b for b in _fences(source) if b[1] == "text"]
    assert blocks, "aucun schéma en texte"
    problems = []
    for first_line, _info, lines in blocks:
        problems += [f"bloc ligne {first_line}: {p}" for p in box_problems(lines)]
        problems += [f"bloc ligne {first_line}: {p}" for p in right_edge_problems(lines)]
    assert not problems, "\n".join(problems)
    assert "\ufffd" not in source


def test_chapter_structure_is_the_seed_drawing() -> None:
    """Kept as the seed drew it (box drawing, aligned), not replaced by another diagram."""
    seed = repaired_seed_block("Structure du chapitre")
    assert seed[0] == "Chapitre 7 : Réseau Kubernetes Interne" and len(seed) == 16
    blocks = [b for b in _fences(SOURCE.read_text(encoding="utf-8")) if b[1] == "text"]
    assert any(lines == seed for _first, _info, lines in blocks)
    assert right_edge_problems(seed) == []
