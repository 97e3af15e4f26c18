"""The French site's interface is French: no English left from the theme or the extensions.

The English strings are Material's own English interface texts (its `en` language file),
less those that French writes the same ("Navigation"), plus the texts that no language file
translates: Material's "Made with" footer line and Python-Markdown's "Permanent link"
title. A French page fails when one of them is a whole text of its interface (a text node,
a `title`, `aria-label`, `placeholder` or `alt`, or a translation handed to Material's
scripts), which leaves the pages' prose alone: a sentence is never exactly "Search".
"""

from __future__ import annotations

import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.site.htmltext import site_pages

# Not in any language file: written in English by Material's partials or by extensions.
HARD_CODED = {"Made with", "Permanent link"}
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


def _language_file(code: str) -> dict[str, str]:
    import material

    path = Path(material.__file__).parent / "templates" / "partials" / "languages" / f"{code}.html"
    return dict(re.findall(r'^\s*"([\w.]+)": "((?:[^"\\]|\\.)*)",?$', path.read_text(), re.M))


@cache
def english_strings() -> frozenset[str]:
    english, french = _language_file("en"), _language_file("fr")
    texts = {
        value.replace("#", "").strip()
        for key, value in english.items()
        if not key.startswith(("search.config", "language", "direction"))
        and value != french.get(key)
    }
    return frozenset({t for t in texts if len(t) > 2} | HARD_CODED)


class _Interface(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._config = False
        self._code = 0  # inside pre/code: what the pages show, not the interface

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ATTRIBUTES:
            value = (values.get(name) or "").strip()
            if value in english_strings():
                self.found.append(f'<{tag} {name}="{value}">')
        self._config = tag == "script" and values.get("id") == "__config"
        self._code += tag in ("pre", "code", "kbd", "samp")

    def handle_endtag(self, tag: str) -> None:
        self._config = False
        self._code -= self._code > 0 and tag in ("pre", "code", "kbd", "samp")

    def handle_data(self, data: str) -> None:
        if self._config:
            translations = json.loads(data).get("translations", {})
            self.found += [
                f"__config {key}: {value}"
                for key, value in translations.items()
                if value.replace("#", "").strip() in english_strings()
            ]
            return
        text = " ".join(data.split())
        if not self._code and text in english_strings():
            self.found.append(f"texte « {text} »")


def english_interface(html: str) -> list[str]:
    parser = _Interface()
    parser.feed(html)
    return parser.found


def test_the_english_list_is_sane() -> None:
    strings = english_strings()
    assert {"Search", "Copy to clipboard", "Made with", "Permanent link", "Skip to content"} <= (
        strings
    )
    assert "Navigation" not in strings  # the same word in French


def test_french_pages_have_no_english_interface(built_site: Path) -> None:
    pages = site_pages(built_site, "fr")
    assert len(pages) >= 8
    problems = [
        f"{page.relative_to(built_site)} : {found}"
        for page in pages
        for found in english_interface(page.read_text(encoding="utf-8"))
    ]
    assert not problems, "interface en anglais sur une page française :\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("html", "bad"),
    [
        # Material's own footer partial and Python-Markdown's default permalink title.
        ('<div class="md-copyright">\n    Made with\n    <a href="#">Material</a>', True),
        ('<a class="headerlink" href="#x" title="Permanent link">¶</a>', True),
        ('<input placeholder="Search">', True),
        ('<script id="__config" type="application/json">{"translations": '
         '{"clipboard.copy": "Copy to clipboard"}}</script>', True),
        ('<div class="md-copyright">Site réalisé avec <a href="#">Material for MkDocs</a>', False),
        ('<a class="headerlink" href="#x" title="Lien permanent vers cette section">¶</a>', False),
        ("<p>Search et Next sont des mots anglais dans une phrase.</p>", False),
        ("<pre><code>Search</code></pre><p>Navigation</p>", False),
    ],
)  # fmt: skip
def test_the_english_interface_detector(html: str, bad: bool) -> None:
    assert bool(english_interface(html)) is bad
