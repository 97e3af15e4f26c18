"""`python -m tools.i18n report` on throwaway repositories: missing, outdated, parity, bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.i18n.conftest import Site, git
from tools.i18n.__main__ import main
from tools.i18n.locales import discover
from tools.i18n.report import LocaleReport, build

Replace = Callable[[Path, str, str], None]


def report_for(site: Site) -> LocaleReport:
    (report,) = build(discover(site.root))
    return report


def run(site: Site, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--root", str(site.root), "report", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_faithful_translation_is_clean(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    report = report_for(site)
    assert (report.parity, report.errors, report.outdated) == ([], [], [])
    assert report.translated == 1 and report.total == 2
    code, out = run(site, capsys)
    assert code == 0
    assert "1/2 pages translated, 1 missing, 0 outdated, 0 parity problems, 0 errors" in out


def test_missing_page_is_listed(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_for(site).missing == ["index.md"]
    code, out = run(site, capsys)
    assert "Missing pages" in out and "  docs/en/index.md" in out
    assert code == 0  # missing pages are work to do, not an error…
    assert run(site, capsys, "--strict")[0] == 1  # …unless asked


def test_source_changed_after_translation_is_outdated_with_its_diff(
    site: Site, replace: Replace, capsys: pytest.CaptureFixture[str]
) -> None:
    source = site.root / "docs/fr/07/page.md"
    replace(source, "Du texte.", "Du texte, et une phrase ajoutée.")
    site.commit("source edit")
    (outdated,) = report_for(site).outdated
    assert outdated.page == "07/page.md"
    assert "-Du texte." in outdated.diff
    assert "+Du texte, et une phrase ajoutée." in outdated.diff
    code, out = run(site, capsys)
    assert code == 0
    assert "Outdated: docs/en/07/page.md" in out and "+Du texte, et une phrase ajoutée." in out


def test_uncommitted_source_edit_also_counts_as_outdated(site: Site, replace: Replace) -> None:
    replace(site.root / "docs/fr/07/page.md", "Un paragraphe", "Un long paragraphe")
    (outdated,) = report_for(site).outdated
    assert "+Un long paragraphe en français." in outdated.diff


def test_changed_command_is_a_parity_error(
    site: Site, replace: Replace, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(site.root / "docs/en/07/page.md", "get pods -o wide", "get pods")
    report = report_for(site)
    assert len(report.parity) == 1
    assert report.parity[0].startswith("docs/en/07/page.md:15: command `microk8s kubectl get pods`")
    assert (
        "differs from the source's command `microk8s kubectl get pods -o wide`"
        in (report.parity[0])
    )
    code, out = run(site, capsys)
    assert code == 1 and "Parity problems:" in out


def test_translated_comments_are_not_parity_problems(site: Site, replace: Replace) -> None:
    page = site.root / "docs/en/07/page.md"
    replace(page, "# List the Pods", "# Show every Pod, with more words")
    replace(page, "# with their IPs", "# and the IPs")
    assert report_for(site).parity == []


def test_changed_output_snippet_and_directive_are_parity_errors(
    site: Site, replace: Replace
) -> None:
    page = site.root / "docs/en/07/page.md"
    replace(page, "10.152.183.1 ", "10.152.183.2 ")
    replace(page, '--8<-- "07/pod.yaml"', '--8<-- "07/pod-en.yaml"')
    replace(page, "timeout=120", "timeout=60")
    site.write("snippets/07/pod-en.yaml", "apiVersion: v1\n")
    messages = "\n".join(report_for(site).parity)
    assert "output `kubernetes   ClusterIP   10.152.183.2   443/TCP` differs" in messages
    assert "snippet `07/pod-en.yaml` differs from the source's snippet `07/pod.yaml`" in messages
    assert "directive `timeout=60 reason=…` differs" in messages


def test_translated_directive_reason_is_fine(site: Site, replace: Replace) -> None:
    replace(site.root / "docs/en/07/page.md", "images are downloaded", "pulling images is slow")
    assert report_for(site).parity == []


def test_removed_and_added_commands_are_reported(site: Site, replace: Replace) -> None:
    page = site.root / "docs/en/07/page.md"
    replace(page, 'echo "# pas un commentaire" ${#tableau[@]}\n', "")
    replace(page, "Some text.", "Some text.\n\n```bash\nmicrok8s kubectl delete pod x\n```")
    messages = "\n".join(report_for(site).parity)
    assert 'missing command `echo "# pas un commentaire" ${#tableau[@]}`' in messages
    assert "command `microk8s kubectl delete pod x` is not in the source" in messages


def test_heading_without_the_source_anchor_is_a_parity_error(site: Site, replace: Replace) -> None:
    replace(site.root / "docs/en/07/page.md", "## Pods { #les-pods }", "## Pods")
    (problem,) = report_for(site).parity
    assert problem == (
        "docs/en/07/page.md:10: anchor `#pods` differs from the source's anchor `#les-pods`"
        " (source line 9)"
    )


def test_render_macros_must_match(site: Site, replace: Replace) -> None:
    replace(site.root / "docs/en/07/page.md", "render_macros: false", "render_macros: true")
    (problem,) = report_for(site).parity
    assert "render_macros: True" in problem and "render_macros: False" in problem


def test_parity_is_checked_against_the_source_as_translated(site: Site, replace: Replace) -> None:
    # A French author changing a command makes the translation outdated, not a parity error.
    replace(site.root / "docs/fr/07/page.md", "get pods -o wide", "get pods -A -o wide")
    site.commit("source command")
    report = report_for(site)
    assert report.parity == [] and len(report.outdated) == 1
    assert "+microk8s kubectl get pods -A -o wide" in report.outdated[0].diff


def test_page_without_source_commit_is_named(
    site: Site, replace: Replace, capsys: pytest.CaptureFixture[str]
) -> None:
    page = site.root / "docs/en/07/page.md"
    text = page.read_text("utf-8")
    page.write_text("\n".join(line for line in text.split("\n") if "source_commit" not in line))
    (error,) = report_for(site).errors
    assert error.startswith("docs/en/07/page.md:1: no `source_commit` in the front matter")
    code, out = run(site, capsys)
    assert code == 1 and "Errors:" in out and "docs/en/07/page.md:1" in out


def test_unknown_commit_is_named(site: Site, replace: Replace) -> None:
    page = site.root / "docs/en/07/page.md"
    commit = git(site.root, "rev-parse", "HEAD~1")
    replace(page, commit, "0123456789abcdef0123456789abcdef01234567")
    (error,) = report_for(site).errors
    assert error == (
        "docs/en/07/page.md:2: source_commit 0123456789abcdef0123456789abcdef01234567 is not"
        " a commit of this repository"
    )


def test_commit_where_the_source_did_not_exist_is_named(site: Site) -> None:
    site.write("docs/fr/neuve.md", "# Neuve\n")
    site.commit("new source page")
    first = git(site.root, "rev-list", "--max-parents=0", "HEAD")
    site.write("docs/en/neuve.md", f"---\nsource_commit: {first}\n---\n\n# New {{ #neuve }}\n")
    (error,) = report_for(site).errors
    assert error == f"docs/en/neuve.md:2: docs/fr/neuve.md did not exist at source_commit {first}"


def test_translation_of_a_deleted_page_is_named(site: Site) -> None:
    (site.root / "docs/fr/07/page.md").unlink()
    site.commit("page removed")
    report = report_for(site)
    assert report.errors == [
        "docs/en/07/page.md: its source page docs/fr/07/page.md does not exist (renamed or"
        " deleted?): move or delete this translation"
    ]
    assert report.translated == 0


def test_broken_front_matter_is_named_with_its_line(site: Site, replace: Replace) -> None:
    replace(site.root / "docs/en/07/page.md", "render_macros: false", "render_macros: [oops")
    (error,) = report_for(site).errors
    assert error.startswith("docs/en/07/page.md:")
    assert "invalid YAML in front matter" in error


def test_config_with_wrong_language_is_named(
    site: Site, replace: Replace, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(site.root / "mkdocs.en.yml", "language: en", "language: de")
    code, out = run(site, capsys)
    assert code == 2
    assert "mkdocs.en.yml: theme.language is 'de' but the file name says 'en'" in out


def test_anchors_are_computed_after_macros(site: Site, replace: Replace) -> None:
    # A heading can be a macro call (section_link): its anchor is the rendered title's.
    replace(
        site.root / "mkdocs.yml",
        "plugins:\n",
        "plugins:\n  macros:\n    render_by_default: false\n",
    )
    source, page = site.root / "docs/fr/07/page.md", site.root / "docs/en/07/page.md"
    echo = 'echo "# pas un commentaire" ${#tableau[@]}\n'  # Jinja would read `{#` as a comment
    replace(source, echo, "")
    replace(page, echo, "")
    replace(source, "render_macros: false", "render_macros: true")
    replace(source, "## Les Pods", '## {{ "Les " ~ "Pods" }}')
    site.commit("macro heading")
    replace(page, "render_macros: false", "render_macros: true")
    head = git(site.root, "rev-parse", "HEAD")
    page.write_text(re.sub(r"source_commit: \w+", f"source_commit: {head}", page.read_text()))
    assert report_for(site).parity == []
    replace(page, "## Pods { #les-pods }", '## {{ "Pods" }}')
    (problem,) = report_for(site).parity
    assert "anchor `#pods` differs from the source's anchor `#les-pods`" in problem


def test_macro_error_is_named(site: Site, replace: Replace) -> None:
    replace(site.root / "mkdocs.yml", "plugins:\n", "plugins:\n  macros: {}\n")
    # Rendered by Jinja, the page's `${#tableau[@]}` opens a comment that never ends.
    replace(site.root / "docs/en/07/page.md", "render_macros: false", "render_macros: true")
    (error,) = report_for(site).errors
    assert error.startswith("docs/en/07/page.md: ")
    assert "cannot render the page to find its anchors" in error
    assert "Missing end of comment tag" in error
