"""Find the source locale and its translations from the MkDocs configs at the project root.

The source site is `mkdocs.yml`; each translation is `mkdocs.<code>.yml`, which inherits it.
Only the few keys the tooling needs are read (docs_dir, site_dir, theme.language, and
extra.i18n, the locale's reader-facing strings, from the locale's own file: a translation
inherits the source's config, not its strings), with a YAML loader that tolerates MkDocs'
own tags (`!ENV`, `!!python/name:`), so that reading a config never imports plugins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from tools.i18n.strings import language_name, missing_keys

SOURCE_CONFIG: Final = "mkdocs.yml"
LOCALE_CONFIG_RE: Final = re.compile(r"^mkdocs\.(?P<code>[a-z]{2,3}(?:-[A-Za-z]{2,4})?)\.yml$")


class I18nError(Exception):
    """A problem in the project's locale setup; the message names the file."""


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads MkDocs' custom tags as plain values instead of failing."""


def _construct_any(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_TolerantLoader.add_multi_constructor("!", _construct_any)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_any)


def _merge(parent: dict[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge like MkDocs' INHERIT: mappings merge, everything else is replaced."""
    merged = dict(parent)
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TolerantLoader) or {}
    except OSError as exc:
        raise I18nError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise I18nError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise I18nError(f"{path}: expected a mapping at the top level")
    return data


def own_strings(path: Path) -> dict[str, Any]:
    """`extra.i18n` as the file at `path` itself writes it, without what it inherits."""
    extra = _read_file(path).get("extra") or {}
    strings = extra.get("i18n") if isinstance(extra, Mapping) else None
    return dict(strings) if isinstance(strings, Mapping) else {}


def read_config(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The config at `path` with its INHERIT chain resolved (relative to each file)."""
    if path in _seen:
        raise I18nError(f"{path}: INHERIT loops back to itself")
    data = _read_file(path)
    parent = data.pop("INHERIT", None)
    if parent is None:
        return data
    parent_path = (path.parent / str(parent)).resolve()
    if not parent_path.is_file():
        raise I18nError(f"{path}: INHERIT points to {parent}, which does not exist")
    return _merge(read_config(parent_path, (*_seen, path)), data)


@dataclass(frozen=True)
class Locale:
    """One edition of the site: its language, config and folders."""

    code: str
    name: str
    config_file: Path
    docs_dir: Path
    site_dir: Path
    is_source: bool
    # extra.i18n of the locale's own file: every reader-facing string of the locale.
    strings: Mapping[str, Any] = field(default_factory=dict)

    def missing_strings(self) -> list[str]:
        return missing_keys(self.strings, self.is_source)

    def check_strings(self) -> None:
        """A clear error, naming the locale, its file and the keys, if strings are missing."""
        missing = self.missing_strings()
        if missing:
            raise I18nError(
                f"locale {self.code!r} ({self.config_file.name}): extra.i18n has no "
                f"{', '.join(missing)} (each locale writes all its reader-facing strings; "
                "see mkdocs.en.yml)"
            )

    def text(self, key: str) -> str:
        """One of the locale's strings (check_strings has said it is there)."""
        if key in self.missing_strings() or key not in self.strings:
            raise I18nError(
                f"locale {self.code!r} ({self.config_file.name}): extra.i18n has no {key}"
            )
        return str(self.strings[key])


@dataclass(frozen=True)
class Project:
    """The source locale and every translation, as found at `root`."""

    root: Path
    source: Locale
    translations: tuple[Locale, ...]

    @property
    def locales(self) -> tuple[Locale, ...]:
        return (self.source, *self.translations)

    def locale(self, code: str) -> Locale:
        for loc in self.locales:
            if loc.code == code:
                return loc
        known = ", ".join(loc.code for loc in self.locales)
        raise I18nError(f"unknown locale {code!r} (known: {known})")


def _locale_from(path: Path, data: Mapping[str, Any], *, is_source: bool) -> Locale:
    theme = data.get("theme") or {}
    code = theme.get("language") if isinstance(theme, Mapping) else None
    if not isinstance(code, str) or not code:
        raise I18nError(f"{path}: theme.language is not set")
    # A translation's own file only: it inherits the source's config, not the source's words.
    # The source's whole INHERIT chain (a test tree built on mkdocs.yml is a source too).
    extra = data.get("extra") or {}
    merged = extra.get("i18n") if isinstance(extra, Mapping) else None
    strings = dict(merged) if is_source and isinstance(merged, Mapping) else own_strings(path)
    base = path.parent
    return Locale(
        code=code,
        name=str(strings.get("name") or language_name(code)),
        config_file=path,
        docs_dir=(base / str(data.get("docs_dir", "docs"))).resolve(),
        site_dir=(base / str(data.get("site_dir", "site"))).resolve(),
        is_source=is_source,
        strings=strings,
    )


def discover(root: Path) -> Project:
    """Read `mkdocs.yml` and every `mkdocs.<code>.yml` beside it."""
    root = root.resolve()
    source_file = root / SOURCE_CONFIG
    if not source_file.is_file():
        raise I18nError(f"{source_file}: the source site's config is missing")
    source = _locale_from(source_file, read_config(source_file), is_source=True)
    translations = []
    for path in sorted(root.glob("mkdocs.*.yml")):
        match = LOCALE_CONFIG_RE.match(path.name)
        if match is None:
            continue
        locale = _locale_from(path, read_config(path), is_source=False)
        if locale.code != match["code"]:
            raise I18nError(
                f"{path}: theme.language is {locale.code!r} but the file name says"
                f" {match['code']!r}"
            )
        if locale.docs_dir == source.docs_dir:
            raise I18nError(f"{path}: docs_dir is the source's ({source.docs_dir})")
        translations.append(locale)
    return Project(root=root, source=source, translations=tuple(translations))
