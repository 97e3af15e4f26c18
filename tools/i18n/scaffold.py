"""Write things for translators: a new locale (`add-locale`) and the source commit (`stamp`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tools.i18n import frontmatter
from tools.i18n.gitrepo import Repo
from tools.i18n.locales import I18nError, Project, read_config
from tools.i18n.report import SOURCE_COMMIT_KEY
from tools.i18n.strings import (
    BANNER_KEYS,
    COMMON_KEYS,
    NOTE_KEYS,
    known_banners,
    language_name,
    palette_name,
)

CODE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")
# The glossary page, relative to the docs folders; its stub is what a new locale starts with.
GLOSSARY_PAGE = "traduction/glossaire.md"


def _material_languages() -> set[str]:
    """Languages Material for MkDocs ships interface strings for (theme.language values)."""
    import material

    folder = Path(material.__file__).parent / "templates" / "partials" / "languages"
    return {p.stem for p in folder.glob("*.html")}


def _yaml_str(value: Any) -> str:
    # JSON strings and lists are valid YAML and escape everything that needs it.
    return json.dumps(value, ensure_ascii=False)


def _search_languages() -> set[str]:
    """Languages Material's search can stem (its lunr.<code> files), English built in."""
    import material

    folder = Path(material.__file__).parent / "templates/assets/javascripts/lunr/min"
    return {"en", *(p.name.split(".")[1] for p in folder.glob("lunr.*.min.js"))}


def _palette(source: dict[str, Any], code: str) -> list[str]:
    """theme.palette with toggle names in language `code` (a list: INHERIT replaces it whole)."""
    palette = (source.get("theme") or {}).get("palette")
    if not isinstance(palette, list):
        return []
    missing = False
    for entry in palette:
        toggle = entry.get("toggle") if isinstance(entry, dict) else None
        if isinstance(toggle, dict) and isinstance(toggle.get("name"), str):
            name = palette_name(toggle["name"], code)
            missing = missing or name is None
            toggle["name"] = name or toggle["name"]
    dumped = yaml.safe_dump(palette, allow_unicode=True, sort_keys=False, width=100)
    head = ["  # TODO: translate the toggle names."] if missing else []
    return [*head, "  palette:", *(f"    {line}" for line in dumped.splitlines())]


def _strings(code: str, start: Mapping[str, Any]) -> list[str]:
    """`extra.i18n` of a new locale: the language's name, the banners this tool knows in
    that language, and every other string from `start` (another locale's) to translate."""
    known = {"name": language_name(code), **known_banners(code)}
    lines = []
    for key in (*COMMON_KEYS, *BANNER_KEYS):
        if key == NOTE_KEYS[0]:
            lines.append("    # The note under each page the doctest verified.")
        if key == BANNER_KEYS[0]:
            lines.append("    # Banners on pages not translated yet, or whose source has changed.")
        if key in known:
            lines.append(f"    {key}: {_yaml_str(known[key])}")
        else:
            value = start.get(key, "")
            lines.append(f"    {key}: {_yaml_str(value)}  # TODO: translate")
    return lines


def locale_config(
    code: str,
    source: dict[str, Any],
    source_config: str = "mkdocs.yml",
    start: Mapping[str, Any] | None = None,
) -> str:
    """The text of `mkdocs.<code>.yml`; `source` is the source config (for texts to
    translate), `start` the strings of an existing locale to start the new one's from."""
    texts = [
        f"{key}: {_yaml_str(str(source[key]).strip())}  # TODO: translate"
        for key in ("site_name", "site_description", "copyright")
        if source.get(key)
    ]
    search = (source.get("plugins") or {}) if isinstance(source.get("plugins"), dict) else {}
    lang = code.split("-")[0]
    plugins = ["plugins:"] if {"search", "macros"} & set(search) else []
    if "search" in search:
        plugins += ["  search:", f"    lang: {lang if lang in _search_languages() else 'en'}"]
    if "macros" in search:
        plugins += [
            "  macros:",
            "    # The source's macros, with section_link seeing the pages served from the source.",
            "    module_name: tools/i18n/locale_macros",
        ]
    lines = [
        f"# {language_name(code)} edition of the site: everything comes from {source_config}"
        " (the French",
        "# source) except what is set here. Paths are relative to this file, as in"
        f" {source_config}.",
        f"# Scaffolded by `nox -s add-locale -- {code}`; see the translators' guide"
        f" (docs/{code}/{GLOSSARY_PAGE.split('/')[0]}/).",
        f"INHERIT: {source_config}",
        "",
        *texts,
        f"docs_dir: docs/{code}",
        "# Under the source's site_dir: build the French site first, its clean wipes site/.",
        f"site_dir: site/{code}",
        "",
        "theme:",
        f"  language: {code}",
        *_palette(source, code),
        "",
        *plugins,
        "# Abbreviation tooltips stay French until you translate snippets/abbreviations.md into",
        f"# snippets/abbreviations.{code}.md and append that instead (see mkdocs.en.yml).",
        "",
        "extra:",
        "  # Every reader-facing string of this locale (the build fails if one is missing).",
        "  i18n:",
        *_strings(code, start or {}),
    ]
    return "\n".join(lines) + "\n"


def add_locale(project: Project, code: str) -> list[Path]:
    """Create the config, folder and glossary stub of locale `code`; return what was written."""
    if not CODE_RE.match(code):
        raise I18nError(f"{code!r} is not a language code (examples: de, pt-BR)")
    if code == project.source.code:
        raise I18nError(f"{code!r} is the source language ({project.source.config_file.name})")
    config = project.root / f"mkdocs.{code}.yml"
    docs = project.root / "docs" / code
    for existing in (config, docs):
        if existing.exists():
            raise I18nError(f"{existing}: already exists; locale {code!r} is set up")
    if code not in _material_languages():
        raise I18nError(
            f"{code!r}: Material for MkDocs has no interface strings for this language"
            " (templates/partials/languages/); pick one of its codes"
        )
    source_glossary = project.source.docs_dir / GLOSSARY_PAGE
    stub = _glossary_stub(project, source_glossary, code)
    # English is the language a translator most likely reads: its strings, else the source's.
    start = next((loc for loc in project.translations if loc.code == "en"), project.source)
    config.write_text(
        locale_config(code, read_config(project.source.config_file), start=start.strings),
        encoding="utf-8",
    )
    target = docs / GLOSSARY_PAGE
    target.parent.mkdir(parents=True)
    target.write_text(stub, encoding="utf-8")
    return [config, target]


def _glossary_stub(project: Project, source: Path, code: str) -> str:
    """The French glossary with its source commit, for the new locale to fill in."""
    if not source.is_file():
        raise I18nError(f"{source}: the glossary page to start the locale from is missing")
    repo = Repo(project.root)
    rel = source.relative_to(project.root).as_posix()
    commit = repo.last_commit(rel)
    if commit is None or repo.is_modified(rel):
        raise I18nError(f"{rel}: commit it first (a translation records the commit it starts from)")
    text = source.read_text(encoding="utf-8")
    note = (
        f"<!-- TODO({code}): translate this page into {language_name(code)} and add a"
        " column for it to the tables. -->\n"
    )
    stamped = frontmatter.set_key(text, SOURCE_COMMIT_KEY, commit)
    meta = frontmatter.parse(stamped, rel)
    lines = stamped.splitlines(keepends=True)
    return "".join([*lines[: meta.body_start], note, *lines[meta.body_start :]])


def stamp(project: Project, paths: Iterable[Path]) -> list[str]:
    """Record in each translated page the newest commit of its source; return what was set."""
    repo = Repo(project.root)
    done = []
    for path in paths:
        path = path.resolve()
        locale = next(
            (loc for loc in project.translations if path.is_relative_to(loc.docs_dir)), None
        )
        if locale is None or path.suffix != ".md":
            raise I18nError(f"{path}: not a page of a translation's docs folder")
        source = project.source.docs_dir / path.relative_to(locale.docs_dir)
        rel = source.relative_to(project.root).as_posix()
        if not source.is_file():
            raise I18nError(f"{path}: its source page {rel} does not exist")
        commit = repo.last_commit(rel)
        if commit is None or repo.is_modified(rel):
            raise I18nError(
                f"{rel}: has uncommitted changes; commit the source first, so that the"
                " translation can record the commit whose text it translates"
            )
        path.write_text(
            frontmatter.set_key(path.read_text(encoding="utf-8"), SOURCE_COMMIT_KEY, commit),
            encoding="utf-8",
        )
        done.append(f"{path.relative_to(project.root).as_posix()}: {SOURCE_COMMIT_KEY} {commit}")
    return done
