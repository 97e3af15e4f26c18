"""Spelling of the pages' prose: hunspell (Debian's fr_FR, en_GB) and the project's word lists.

docs/fr/ is checked in French, docs/en/ (when it exists) in English. An unknown word fails
the test with its file, line and hunspell's suggestions: a typo is fixed in its page, a
term goes to tools/spelling/termes.txt (names shared by every language) or to the
language's own list (mots.txt, words.en.txt); `python -m tools.spelling --suggest`
prints the proposed additions.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tools.spelling.checker import (
    LANGUAGES,
    ROOT,
    SHARED_WORD_LIST,
    Checker,
    SpellingError,
    WordList,
    display,
    pages,
    redundant_shared_entries,
)


def _checker(code: str, word_list: Path | None = None) -> Checker:
    try:
        return Checker(code, word_list)
    except SpellingError as error:
        pytest.fail(str(error))


@pytest.mark.parametrize("code", sorted(LANGUAGES, reverse=True))  # fr first
def test_pages_have_no_unknown_words(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    if not (ROOT / "docs" / code).is_dir():
        pytest.skip(f"docs/{code}/ n'existe pas")
    checker = _checker(code)
    started = time.monotonic()
    sources = pages(code)
    findings = checker.check(sources)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\northographe ({checker.language.dictionary}) : {len(sources)} pages de "
            f"docs/{code}/ en {elapsed:.2f} s, {len(findings)} mot(s) inconnu(s)"
        )
    if findings:
        findings = checker.with_suggestions(findings)
        pytest.fail(
            f"{len(findings)} mot(s) inconnu(s) dans docs/{code}/ :\n"
            + "\n".join(f"  {finding}" for finding in findings)
            + "\nUne faute se corrige dans la page ; un terme s'ajoute à "
            f"{display(SHARED_WORD_LIST)} (noms communs aux langues) ou à "
            f"{display(checker.language.word_list)} "
            "(propositions : python -m tools.spelling --suggest).",
            pytrace=False,
        )


@pytest.mark.parametrize("code", [*sorted(LANGUAGES, reverse=True), "shared"])
def test_word_lists_hold_only_words_the_dictionary_lacks(code: str) -> None:
    try:
        redundant = (
            redundant_shared_entries() if code == "shared" else Checker(code).redundant_entries()
        )
    except SpellingError as error:
        pytest.fail(str(error))
    assert not redundant, "déjà connus du dictionnaire, à retirer de la liste :\n" + "\n".join(
        redundant
    )


# --- the checker itself --------------------------------------------------------------------

_PAGE = """\
---
title: adresssse dans l'en-tête
---
# Une page

Une phrase avec une adresssse fautive.

`adresssse` en code, <!-- adresssse --> et https://example.org/adresssse ici.
Un [lien](adresssse.md), une <span class="adresssse">balise</span>, {{ adresssse }}.

```bash
echo adresssse
```

```mermaid
graph LR
  A[adresssse] --> B
```

<!-- doctest: setup
```bash
adresssse
```
-->

!!! note "Une erreurr dans le titre"
    Le kube-proxy de l'IPAM fait du *load balancing* : « Connection refused ».

    ~~~text
    adresssse
    ~~~

| Colonne | Autre |
|---------|-------|
| cni0 | 10.1.0.0/16, resolv.conf, IPv4 |
"""


def _words(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "mots.txt"
    path.write_text("# essai\n" + "".join(f"{e}\n" for e in entries), encoding="utf-8")
    return path


def test_only_prose_typos_are_reported_with_their_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(_PAGE, encoding="utf-8")
    checker = _checker("fr", _words(tmp_path, "kube-proxy", "IPAM"))
    found = [(f.line, f.word) for f in checker.check([page])]
    assert found == [(6, "adresssse"), (26, "erreurr")]
    [first, _] = checker.with_suggestions(checker.check([page]))
    assert str(first).startswith(f"{page}:6:adresssse  (hunspell : ")
    assert "adresse" in first.suggestions


def test_terms_need_the_word_list(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Le kube-proxy de l'IPAM.\n\nKube-proxy, NAMESPACE.\n", encoding="utf-8")
    bare = _checker("fr", _words(tmp_path))
    assert [(f.line, f.word) for f in bare.check([page])] == [
        (1, "kube-proxy"),
        (1, "l'IPAM"),
        (3, "Kube-proxy"),
        (3, "NAMESPACE"),
    ]
    listed = _checker("fr", _words(tmp_path, "kube-proxy", "IPAM", "namespace"))
    assert listed.check([page]) == []


def test_english_pages_accept_possessives_and_quoted_french(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        'The nginx\'s neighbour said "avant" (before); the neighbor misspelt it.\n',
        encoding="utf-8",
    )
    checker = _checker("en", _words(tmp_path, "nginx"))
    # en_GB: "neighbor" is the American spelling.
    assert [(f.line, f.word) for f in checker.check([page])] == [(1, "neighbor")]


def test_a_bad_word_list_names_its_file_and_line(tmp_path: Path) -> None:
    path = _words(tmp_path, "CoreDNS", "deux mots")
    with pytest.raises(SpellingError, match=rf"{path}:3: « deux mots » n'est pas un mot"):
        WordList.load(path)
    path = _words(tmp_path, "CoreDNS", "CoreDNS")
    with pytest.raises(SpellingError, match=rf"{path}:3: « CoreDNS » est déjà à la ligne 2"):
        WordList.load(path)


def test_a_page_not_in_utf8_is_named(tmp_path: Path) -> None:
    page = tmp_path / "latin1.md"
    page.write_bytes("Réseau\n".encode("latin-1"))
    with pytest.raises(SpellingError, match=rf"{page}: pas en UTF-8"):
        _checker("fr", _words(tmp_path)).check([page])
