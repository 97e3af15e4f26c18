"""Spelling of the pages' prose: Debian's hunspell dictionaries plus the project's word lists.

A word is accepted when the page language's dictionary or word list knows it; a French
elided word (`l'Ingress`) when what follows the apostrophe is known; a hyphenated word
(`kube-proxy`, `peut-être`) when the whole or each of its parts is known; a word in italics
or in an element with a `lang` attribute when either language knows it (French typography
italicises foreign words: *load balancing*).

hunspell runs once per dictionary with every distinct word of the pages (pipe mode, one word
a line), so that a whole check costs two processes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tools.spelling.prose import Word, words

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DICTIONARY_DIR = Path("/usr/share/hunspell")


@dataclass(frozen=True)
class Language:
    code: str
    dictionary: str  # hunspell's name, /usr/share/hunspell/<name>.dic
    debian_package: str
    word_list: Path
    other: str  # the language foreign (italic) words may also come from


LANGUAGES = {
    "fr": Language("fr", "fr_FR", "hunspell-fr", HERE / "mots.txt", other="en"),
    # The translation is written in British English (neighbour, organised): en_GB, which
    # accepts -ise and -ize but not neighbor/color.
    "en": Language("en", "en_GB", "hunspell-en-gb", HERE / "words.en.txt", other="fr"),
}
# Names that every language writes the same way (Kubernetes objects, tools, projects,
# acronyms), beside each language's own list.
SHARED_WORD_LIST = HERE / "termes.txt"
# Pages written in both languages on purpose, relative to docs/<lang>/: every word may come
# from either dictionary (the glossaries: a French column and an English one).
BILINGUAL_PAGES = frozenset({"traduction/glossaire.md"})
_ELISION = re.compile(r"^(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’](?=\w)", re.I)


def display(path: Path) -> str:
    """A path as the reader of a report wants it: relative to the repository if inside."""
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


class SpellingError(Exception):
    """A set-up or input problem, said with the file and line to look at."""


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    word: str
    suggestions: tuple[str, ...] = ()

    def location(self) -> str:
        return f"{display(self.path)}:{self.line}"

    def __str__(self) -> str:
        hint = f"  (hunspell : {', '.join(self.suggestions[:4])})" if self.suggestions else ""
        return f"{self.location()}:{self.word}{hint}"


@dataclass
class WordList:
    """The project's terms for one language: one word a line, `#` starts a comment.

    An entry in lower case also accepts its capitalised and upper-case forms (as hunspell
    does with its own words); an entry with a capital is matched exactly.
    """

    path: Path
    entries: dict[str, int] = field(default_factory=dict)  # word → line

    @classmethod
    def load(cls, path: Path) -> WordList:
        if not path.is_file():
            return cls(path)
        entries: dict[str, int] = {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            if not re.fullmatch(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", entry):
                raise SpellingError(
                    f"{path}:{number}: « {entry} » n'est pas un mot (un mot par ligne, sans "
                    "espace ni chiffre ; les commentaires commencent par #)."
                )
            if entry in entries:
                raise SpellingError(
                    f"{path}:{number}: « {entry} » est déjà à la ligne {entries[entry]}."
                )
            entries[entry] = number
        return cls(path, entries)

    def accepts(self, word: str) -> bool:
        if word in self.entries:
            return True
        # `Kube-proxy` at the start of a sentence, `NAMESPACE` in a heading: forms of a
        # lower-case entry.
        decapitalised = word[:1].lower() + word[1:]
        if decapitalised != word and decapitalised.islower() and decapitalised in self.entries:
            return True
        return word.isupper() and word.lower() in self.entries


class Hunspell:
    """One Debian hunspell dictionary, asked about many words at once."""

    def __init__(self, language: Language) -> None:
        self.language = language
        if shutil.which("hunspell") is None:
            raise SpellingError(
                "hunspell est introuvable : apt-get install hunspell "
                f"{language.debian_package} (nox -s tests le fait)."
            )
        if not (DICTIONARY_DIR / f"{language.dictionary}.dic").is_file():
            raise SpellingError(
                f"dictionnaire {language.dictionary} absent de {DICTIONARY_DIR} : "
                f"apt-get install {language.debian_package} (nox -s tests le fait)."
            )
        self._asked: set[str] = set()
        self._unknown: set[str] = set()
        self._suggestions: dict[str, tuple[str, ...]] = {}

    def _run(self, mode: str, text: str) -> str:
        done = subprocess.run(
            ["hunspell", "-d", self.language.dictionary, mode, "-i", "utf-8"],
            input=text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise SpellingError(f"hunspell -d {self.language.dictionary} : {done.stderr.strip()}")
        return done.stdout

    def ask(self, candidates: Iterable[str]) -> None:
        """Ask hunspell about the words it was not asked about yet (one process).

        `-L` prints the input lines that hold an unknown word: with one word a line, the
        unknown words themselves. It computes no suggestions, which is what makes a whole
        check take a fraction of a second (suggestions cost ~0.1 s a word in French).
        """
        batch = sorted(set(candidates) - self._asked)
        if not batch:
            return
        output = self._run("-L", "".join(f"{word}\n" for word in batch))
        self._unknown |= set(output.splitlines()) & set(batch)
        self._asked.update(batch)

    def knows(self, word: str) -> bool:
        if word not in self._asked:
            self.ask([word])
        return word not in self._unknown

    def suggest(self, unknown: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """hunspell's suggestions for a few unknown words (pipe mode, one process)."""
        batch = sorted(set(unknown) - set(self._suggestions))
        if batch:
            # Pipe mode: `^` makes each line plain text (never a command); every input line
            # gets its result lines, then an empty line.
            output = self._run("-a", "".join(f"^{word}\n" for word in batch))
            blocks = output.split("\n", 1)[1].split("\n\n")  # after hunspell's banner
            for word, block in zip(batch, blocks, strict=False):
                suggestions: list[str] = []
                for result in block.splitlines():
                    if result.startswith("& ") and ": " in result:
                        suggestions += result.split(": ", 1)[1].split(", ")
                self._suggestions[word] = tuple(suggestions)
        return {word: self._suggestions.get(word, ()) for word in unknown}


def _forms(word: str) -> list[str]:
    """The strings a verdict on `word` may need: itself, after an elision, its parts."""
    forms = [word]
    for rest in (_ELISION.sub("", word), re.sub(r"['’]s$", "", word)):
        if rest != word:
            forms.append(rest)
    for form in list(forms):
        if "-" in form:
            forms += [part for part in form.split("-") if part]
    return forms


class Checker:
    """Spelling of pages in one language (with the other language for foreign words)."""

    def __init__(self, code: str, word_list: Path | None = None) -> None:
        """`word_list` replaces the project's lists (the checker's own tests use it)."""
        self.language = LANGUAGES[code]
        self.other = LANGUAGES[self.language.other]
        if word_list is not None:
            self.lists = self.other_lists = [WordList.load(word_list)]
        else:
            shared = WordList.load(SHARED_WORD_LIST)
            self.lists = [shared, WordList.load(self.language.word_list)]
            self.other_lists = [shared, WordList.load(self.other.word_list)]
        self.hunspell = Hunspell(self.language)
        self._other_hunspell: Hunspell | None = None

    @property
    def other_hunspell(self) -> Hunspell:
        if self._other_hunspell is None:
            self._other_hunspell = Hunspell(self.other)
        return self._other_hunspell

    def _known(self, form: str, foreign: bool) -> bool:
        if any(w.accepts(form) for w in self.lists) or self.hunspell.knows(form):
            return True
        return foreign and (
            any(w.accepts(form) for w in self.other_lists) or self.other_hunspell.knows(form)
        )

    def accepts(self, word: str, foreign: bool = False) -> bool:
        if self._known(word, foreign):
            return True
        if self.language.code == "en" and re.search(r"['’]s$", word):
            word = word[:-2]  # nginx's, the plugin's: the possessive of a known word
            if self._known(word, foreign):
                return True
        rest = _ELISION.sub("", word) if self.language.code == "fr" else word
        if rest != word and self._known(rest, foreign):
            return True
        parts = [part for part in rest.split("-") if part]
        return len(parts) > 1 and all(self._known(part, foreign) for part in parts)

    def check(self, pages: Iterable[Path]) -> list[Finding]:
        """Every unknown word of the pages' prose, as file, line and word (no suggestions)."""
        found: list[tuple[Path, Word]] = []
        for page in pages:
            try:
                text = page.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise SpellingError(f"{page}: pas en UTF-8 ({error}).") from None
            docs = ROOT / "docs" / self.language.code
            bilingual = (
                page.is_relative_to(docs) and page.relative_to(docs).as_posix() in BILINGUAL_PAGES
            )
            found += [
                (page, replace(word, foreign=True) if bilingual else word)
                for word in words(text, self.language.code)
            ]
        # One hunspell process per dictionary for the whole check.
        self.hunspell.ask(form for _, word in found for form in _forms(word.text))
        foreign = [form for _, word in found if word.foreign for form in _forms(word.text)]
        if foreign:
            self.other_hunspell.ask(foreign)
        return [
            Finding(page, word.line, word.text)
            for page, word in found
            if not self.accepts(word.text, word.foreign)
        ]

    def with_suggestions(self, findings: list[Finding], limit: int = 40) -> list[Finding]:
        """The findings with hunspell's suggestions, for the first `limit` distinct words
        (a French suggestion costs about 0.1 s)."""
        distinct = list(dict.fromkeys(finding.word for finding in findings))[:limit]
        suggestions = self.hunspell.suggest(distinct)
        return [
            replace(finding, suggestions=suggestions.get(finding.word, ())) for finding in findings
        ]

    def redundant_entries(self) -> list[str]:
        """Entries of this language's list that its dictionary already knows."""
        own = WordList.load(self.language.word_list)
        self.hunspell.ask(own.entries)
        return [
            f"{display(own.path)}:{line}: {entry}"
            for entry, line in own.entries.items()
            if self.hunspell.knows(entry)
        ]


def redundant_shared_entries() -> list[str]:
    """Entries of the shared list that every language's dictionary already knows."""
    shared = WordList.load(SHARED_WORD_LIST)
    dictionaries = [Hunspell(language) for language in LANGUAGES.values()]
    for dictionary in dictionaries:
        dictionary.ask(shared.entries)
    return [
        f"{display(shared.path)}:{line}: {entry}"
        for entry, line in shared.entries.items()
        if all(dictionary.knows(entry) for dictionary in dictionaries)
    ]


def pages(code: str) -> list[Path]:
    """The Markdown sources of one language (docs/<code>/)."""
    return sorted((ROOT / "docs" / code).rglob("*.md"))
