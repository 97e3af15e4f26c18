"""Bad input fails the strict build with a message that names the page.

Each test builds a tiny docs tree with the project's own mkdocs.yml (inherited), first
checking that the same tree without the fault builds, so a failure is due to the fault.
"""

from __future__ import annotations

import re

from tests.site.conftest import BuildTree

GOOD = {
    "index.md": "# Accueil\n\nVoir le [guide](guide.md#installation).\n",
    "guide.md": (
        "---\nrender_macros: true\n---\n# Guide\n\n## Installation\n\n"
        'Serveur de noms : {{ dns_service_ip }}\n\n```bash\n--8<-- "07/exemple.sh"\n```\n'
    ),
}
SNIPPETS = {"07/exemple.sh": "microk8s kubectl get pods -o wide\n"}


def _with(page: str, text: str) -> dict[str, str]:
    return {**GOOD, page: text}


def test_the_control_tree_builds(build_tree: BuildTree) -> None:
    build = build_tree(GOOD, SNIPPETS)
    assert build.returncode == 0, build.output
    html = (build.site / "guide" / "index.html").read_text(encoding="utf-8")
    assert "Serveur de noms\u00a0: 10.152.183.10" in html  # typography hook
    assert "get" in html and "wide" in html  # the snippet was included


def test_broken_link_names_page_and_target(build_tree: BuildTree) -> None:
    build = build_tree(
        _with("index.md", "# Accueil\n\nVoir [la suite](suite-absente.md).\n"), SNIPPETS
    )
    assert build.returncode != 0
    assert re.search(r"'index\.md'.*'suite-absente\.md'", build.output), build.output


def test_broken_anchor_names_page_and_anchor(build_tree: BuildTree) -> None:
    build = build_tree(
        _with("index.md", "# Accueil\n\nVoir [le guide](guide.md#ancre-absente).\n"), SNIPPETS
    )
    assert build.returncode != 0
    assert "'index.md'" in build.output and "ancre-absente" in build.output, build.output


def test_absolute_link_like_the_seed_fails(build_tree: BuildTree) -> None:
    build = build_tree(_with("index.md", "# Accueil\n\n[Sommaire](/SOMMAIRE.md)\n"), SNIPPETS)
    assert build.returncode != 0
    assert "'index.md'" in build.output and "/SOMMAIRE.md" in build.output, build.output


def test_unknown_macro_variable_names_page_and_line(build_tree: BuildTree) -> None:
    page = "---\nrender_macros: true\n---\n# Guide\n\n## Installation\n\nDNS : {{ dns_ip }}\n"
    build = build_tree(_with("guide.md", page), SNIPPETS)
    assert build.returncode != 0
    assert "guide.md, ligne 8 : variable ou macro inconnue : 'dns_ip' is undefined" in (
        build.output
    ), build.output
    assert "Traceback" not in build.output


def test_missing_snippet_names_page_and_line(build_tree: BuildTree) -> None:
    page = '# Guide\n\n## Installation\n\n```bash\n--8<-- "07/absent.sh"\n```\n'
    build = build_tree(_with("guide.md", page), SNIPPETS)
    assert build.returncode != 0
    assert "docs/guide.md, ligne 6 : snippet « 07/absent.sh » introuvable" in build.output, (
        build.output
    )
    assert "Traceback" not in build.output


def test_section_link_renders_a_link_only_when_the_page_exists(build_tree: BuildTree) -> None:
    pages = {
        "index.md": (
            "---\nrender_macros: true\n---\n# Sommaire\n\n"
            '- {{ section_link("guide.md", "Le guide") }}\n'
            '- {{ section_link("a-venir.md", "À venir") }}\n'
        ),
        "guide.md": "# Guide\n",
    }
    build = build_tree(pages)
    assert build.returncode == 0, build.output
    html = (build.site / "index.html").read_text(encoding="utf-8")
    assert '<a href="guide/">Le guide</a>' in html
    assert "<li>À venir</li>" in html


def test_missing_vendored_mermaid_fails(build_tree: BuildTree) -> None:
    build = build_tree(GOOD, SNIPPETS, mermaid=False)
    assert build.returncode != 0
    assert "assets/vendor/mermaid.min.js" in build.output, build.output
    assert "tools/vendor_assets.py" in build.output


def test_script_from_another_host_fails(build_tree: BuildTree) -> None:
    extra = "extra_javascript:\n  - https://unpkg.com/mermaid@11/dist/mermaid.min.js\n"
    build = build_tree(GOOD, SNIPPETS, extra_config=extra)
    assert build.returncode != 0
    assert "https://unpkg.com/mermaid@11/dist/mermaid.min.js" in build.output, build.output
    assert "autre hôte" in build.output
