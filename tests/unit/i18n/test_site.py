"""The hook and switcher in real builds, and `add-locale` giving a site that builds at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.unit.i18n.conftest import Site
from tools.i18n.__main__ import main
from tools.i18n.locales import discover, own_strings
from tools.i18n.report import build

PROJECT = Path(__file__).resolve().parents[3]
HOOK = PROJECT / "hooks" / "i18n.py"
OVERRIDES = PROJECT / "overrides"

GLOSSARY = """\
# Glossaire

| Français | English |
|----------|---------|
| Pod      | Pod     |
"""


def _mkdocs(root: Path, config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def mkdocs_build(root: Path, config: str = "mkdocs.yml") -> None:
    result = _mkdocs(root, config)
    assert result.returncode == 0, result.stderr


def failed_build(root: Path, config: str) -> str:
    """The error output of a build that must fail."""
    result = _mkdocs(root, config)
    assert result.returncode == 1
    return result.stderr


def switcher(html: str) -> dict[str, str]:
    """hreflang → href of the language switcher's links."""
    links = re.findall(r'<a href="([^"]*)" hreflang="([^"]*)"[^>]*class="md-select__link"', html)
    return {lang: href for href, lang in links}


def _strings_block(config: Path) -> str:
    """The `extra.i18n` block of one of the project's configs, as YAML."""
    return yaml.safe_dump({"extra": {"i18n": own_strings(config)}}, allow_unicode=True)


@pytest.fixture
def hooked(site: Site, replace: Callable[[Path, str, str], None]) -> Site:
    """The throwaway site with the project's hook, switcher partial and locale strings."""
    replace(
        site.root / "mkdocs.yml",
        "  font: false\n",
        f"  font: false\n  custom_dir: {OVERRIDES}\nhooks:\n  - {HOOK}\n",
    )
    with (site.root / "mkdocs.yml").open("a", encoding="utf-8") as config:
        config.write(_strings_block(PROJECT / "mkdocs.yml"))
    replace(
        site.root / "mkdocs.en.yml",
        "extra:\n  i18n:\n    name: English\n",
        _strings_block(PROJECT / "mkdocs.en.yml"),
    )
    site.write("docs/fr/traduction/glossaire.md", GLOSSARY)
    site.commit("hook and glossary")
    return site


def test_fallback_page_outdated_page_and_switcher(
    hooked: Site, replace: Callable[[Path, str, str], None]
) -> None:
    replace(hooked.root / "docs/fr/07/page.md", "Du texte.", "Du texte modifié.")
    mkdocs_build(hooked.root)
    mkdocs_build(hooked.root, "mkdocs.en.yml")
    site = hooked.root / "site"

    # Not translated: served from the French text, flagged, with a link to the French page.
    home = (site / "en/index.html").read_text("utf-8")
    assert 'data-i18n-banner="untranslated"' in home
    assert "has not been translated into English yet" in home
    assert '<div lang="fr">' in home and "Bonjour." in home
    assert 'href="../" hreflang="fr" target="_self">Read the French original</a>' in home

    # Translated, but the French source changed since source_commit.
    page = (site / "en/07/page/index.html").read_text("utf-8")
    assert 'data-i18n-banner="outdated"' in page and "A paragraph in English." in page
    assert 'href="../../../07/page/" hreflang="fr"' in page

    # Each switcher link is the same page in the other language.
    assert switcher(page) == {"fr": "../../../07/page/", "en": "../../07/page/"}
    french = (site / "07/page/index.html").read_text("utf-8")
    assert switcher(french) == {"fr": "../../07/page/", "en": "../../en/07/page/"}
    assert "i18n-banner" not in french
    # Search indexes each locale in its own language.
    assert '"lang":["en"]' in (site / "en/search/search_index.json").read_text("utf-8")
    assert '"lang":["fr"]' in (site / "search/search_index.json").read_text("utf-8")


def test_up_to_date_translation_has_no_banner(hooked: Site) -> None:
    mkdocs_build(hooked.root, "mkdocs.en.yml")
    page = (hooked.root / "site/en/07/page/index.html").read_text("utf-8")
    assert "i18n-banner" not in page


def test_add_locale_builds_at_once_and_reports_clean(
    hooked: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(hooked.root), "add-locale", "de"]) == 0
    assert "created mkdocs.de.yml" in capsys.readouterr().out
    stub = (hooked.root / "docs/de/traduction/glossaire.md").read_text("utf-8")
    assert stub.startswith("---\nsource_commit: ")
    assert "TODO(de)" in stub and "| Pod      | Pod     |" in stub

    (report,) = build(discover(hooked.root), ["de"])
    assert (report.errors, report.parity, report.translated) == ([], [], 1)

    for config in ("mkdocs.yml", "mkdocs.en.yml", "mkdocs.de.yml"):
        mkdocs_build(hooked.root, config)
    assert '"lang":["de"]' in (hooked.root / "site/de/search/search_index.json").read_text()
    german = (hooked.root / "site/de/07/page/index.html").read_text("utf-8")
    assert '<html lang="de"' in german
    assert "Diese Seite ist noch nicht ins Deutsche übersetzt" in german
    assert switcher(german)["en"] == "../../../en/07/page/"
    # The new locale appears in the switcher of the existing ones, with no edit of theirs.
    english = (hooked.root / "site/en/07/page/index.html").read_text("utf-8")
    assert switcher(english)["de"] == "../../../de/07/page/"


def test_add_locale_refuses_bad_codes(hooked: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(hooked.root), "add-locale", "fr"]) == 2
    assert "'fr' is the source language" in capsys.readouterr().err
    assert main(["--root", str(hooked.root), "add-locale", "en"]) == 2
    assert "mkdocs.en.yml: already exists" in capsys.readouterr().err
    assert main(["--root", str(hooked.root), "add-locale", "../x"]) == 2
    assert "is not a language code" in capsys.readouterr().err
    assert main(["--root", str(hooked.root), "add-locale", "xx"]) == 2
    assert "no interface strings for this language" in capsys.readouterr().err


def test_stamp_records_the_source_commit(
    hooked: Site,
    replace: Callable[[Path, str, str], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(hooked.root)  # page paths are relative to the working directory
    source = hooked.root / "docs/fr/07/page.md"
    replace(source, "Du texte.", "Du texte modifié.")
    # An uncommitted source cannot be stamped: the commit would not hold the translated text.
    assert main(["--root", str(hooked.root), "stamp", "docs/en/07/page.md"]) == 2
    assert "has uncommitted changes" in capsys.readouterr().err
    commit = hooked.commit("source edit")
    assert len(build(discover(hooked.root))[0].outdated) == 1
    assert main(["--root", str(hooked.root), "stamp", "docs/en/07/page.md"]) == 0
    assert f"source_commit {commit}" in capsys.readouterr().out
    assert build(discover(hooked.root))[0].outdated == []


def test_build_names_a_translated_page_without_source_commit(
    hooked: Site, replace: Callable[[Path, str, str], None]
) -> None:
    page = hooked.root / "docs/en/07/page.md"
    page.write_text(re.sub(r"source_commit: \w+\n", "", page.read_text("utf-8")), "utf-8")
    errors = failed_build(hooked.root, "mkdocs.en.yml")
    assert "i18n: docs/en/07/page.md: no source_commit in the front matter" in errors


def test_a_locale_missing_a_string_fails_the_build_naming_it(
    hooked: Site, replace: Callable[[Path, str, str], None]
) -> None:
    assert main(["--root", str(hooked.root), "add-locale", "de"]) == 0
    mkdocs_build(hooked.root, "mkdocs.de.yml")
    config = hooked.root / "mkdocs.de.yml"
    (line,) = [ln for ln in config.read_text("utf-8").splitlines() if "verified_ok:" in ln]
    replace(config, line + "\n", "")
    errors = failed_build(hooked.root, "mkdocs.de.yml")
    assert "i18n: locale 'de' (mkdocs.de.yml): extra.i18n has no verified_ok" in errors
