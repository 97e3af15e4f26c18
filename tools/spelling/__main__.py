"""Spelling of the pages from the command line.

python -m tools.spelling              unknown words, file:line:word (exit 1 if any)
python -m tools.spelling --suggest    the same words, once each, ready to be added
                                           to the word list (terms only: a misspelling
                                           is fixed in its page)
python -m tools.spelling --lang en    one language (default: every docs/<lang>/)
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from tools.spelling.checker import (
    LANGUAGES,
    ROOT,
    SHARED_WORD_LIST,
    Checker,
    Finding,
    SpellingError,
    display,
    pages,
)


def _suggest(checker: Checker, findings: list[Finding]) -> None:
    by_word: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_word[finding.word].append(finding)
    print(
        f"# docs/{checker.language.code}/ : les noms communs à toutes les langues (objets, outils, "
        f"sigles) vont dans {display(SHARED_WORD_LIST)}, les mots propres à la langue dans "
        f"{display(checker.language.word_list)} ; une faute se corrige dans la page."
    )
    for word in sorted(by_word, key=lambda w: (w.lower(), w)):
        first = by_word[word][0]
        hint = f" ; hunspell : {', '.join(first.suggestions[:3])}" if first.suggestions else ""
        print(f"{word}  # {len(by_word[word])}×, {first.location()}{hint}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.spelling")
    parser.add_argument("--suggest", action="store_true", help="ajouts proposés au lexique")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), action="append")
    options = parser.parse_args(argv)
    codes = options.lang or [code for code in LANGUAGES if (ROOT / "docs" / code).is_dir()]
    total = 0
    try:
        for code in codes:
            checker = Checker(code)
            findings = checker.check(pages(code))
            total += len(findings)
            # Suggestions help tell a typo from a term; --suggest asks for every word.
            findings = checker.with_suggestions(findings, limit=10_000 if options.suggest else 40)
            if options.suggest:
                _suggest(checker, findings)
            else:
                for finding in findings:
                    print(finding)
    except SpellingError as error:
        print(f"orthographe : {error}", file=sys.stderr)
        return 2
    if not options.suggest:
        print(f"orthographe : {total} mot(s) inconnu(s) dans {', '.join(codes)}.")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
