"""The reader-facing strings of a locale: which keys each locale's config must define, how a
text with plural forms is written, and the defaults `add-locale` starts a new locale with.

Each locale's strings live in one place, its own config under `extra.i18n` (mkdocs.yml for
the French source, mkdocs.<code>.yml for a translation): the banners of a translation and
the "verified" note under each page's title. The build reads only those; a locale that lacks
a key fails the build, naming the locale, its file and the key (hooks/i18n.py). The tables
below are only what `add-locale` writes into a new locale's config: editing them changes no
existing locale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

# Every locale: its name in the language switcher, how it writes a date and which counts
# take the singular (French: 0 and 1; English: 1), the "verified" note and the interface
# texts the theme does not translate. A note text may choose a word by a count:
# `{passed|exemple|exemples}`.
# `{cluster}` in a note is `verified_cluster` filled in with the report's facts: the provider
# (`verified_provider_<kind>`), the Kubernetes version, the network plugin and the number of
# nodes (those two left out when the report does not know them).
NOTE_KEYS: Final = (
    "verified_ok",
    "verified_skipped",
    "verified_failed_title",
    "verified_failed",
    "verified_failed_skipped",
    "verified_title",
    "verified_cluster",
    "verified_plugin",
    "verified_nodes",
    "verified_provider_local",
    "verified_provider_kind",
    "verified_provider_microk8s",
    "verified_provider_existing",
    "verified_provider_other",
)
# Interface texts Material leaves in English whatever the language: its footer credit.
INTERFACE_KEYS: Final = ("made_with",)
COMMON_KEYS: Final = ("name", "date_format", "plural_one", *NOTE_KEYS, *INTERFACE_KEYS)
# A translation also shows banners on pages not translated yet, or whose source changed.
BANNER_KEYS: Final = (
    "untranslated_title",
    "untranslated_text",
    "outdated_title",
    "outdated_text",
    "source_link",
)
TRANSLATION_KEYS: Final = (*COMMON_KEYS, *BANNER_KEYS)


def required_keys(is_source: bool) -> tuple[str, ...]:
    return COMMON_KEYS if is_source else TRANSLATION_KEYS


def missing_keys(strings: Mapping[str, Any], is_source: bool) -> list[str]:
    """The keys a locale's `extra.i18n` lacks (an empty value counts as missing)."""
    return [
        key
        for key in required_keys(is_source)
        if strings.get(key) is None or (isinstance(strings[key], str) and not strings[key].strip())
    ]


_PLURAL = re.compile(r"\{(\w+)\|([^|{}]*)\|([^|{}]*)\}")


def format_text(template: str, plural_one: list[int], **values: Any) -> str:
    """`template` with `{count|one|other}` resolved by `values[count]`, then str.format."""

    def choose(m: re.Match[str]) -> str:
        return m[2] if int(values[m[1]]) in plural_one else m[3]

    return _PLURAL.sub(choose, template).format(**values)


# -- what add-locale starts a new locale with ------------------------------------------------

# Each language named in its own language, as the language switcher shows it.
LANGUAGE_NAMES: Final[dict[str, str]] = {
    "fr": "Français",
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "pt": "Português",
}

# Banners in languages that have no locale yet (the source is French: every text says so in
# the reader's language). English has its locale: mkdocs.en.yml holds its strings, and a
# language missing here starts from them, marked for translation.
BANNERS: Final[dict[str, dict[str, str]]] = {
    "de": {
        "untranslated_title": "Noch nicht übersetzt",
        "untranslated_text": (
            "Diese Seite ist noch nicht ins Deutsche übersetzt: unten steht das französische"
            " Original."
        ),
        "outdated_title": "Übersetzung veraltet",
        "outdated_text": (
            "Das französische Original dieser Seite wurde seit der Übersetzung geändert:"
            " manches kann fehlen oder nicht mehr stimmen."
        ),
        "source_link": "Das französische Original lesen",
    },
    "es": {
        "untranslated_title": "Aún sin traducir",
        "untranslated_text": (
            "Esta página aún no está traducida al español: a continuación, el original francés."
        ),
        "outdated_title": "Traducción desactualizada",
        "outdated_text": (
            "El original francés de esta página ha cambiado desde que se tradujo:"
            " puede faltar algo o haber quedado inexacto."
        ),
        "source_link": "Leer el original francés",
    },
    "it": {
        "untranslated_title": "Non ancora tradotta",
        "untranslated_text": (
            "Questa pagina non è ancora tradotta in italiano: qui sotto l'originale francese."
        ),
        "outdated_title": "Traduzione non aggiornata",
        "outdated_text": (
            "L'originale francese di questa pagina è cambiato dopo la traduzione:"
            " alcune parti possono mancare o non essere più esatte."
        ),
        "source_link": "Leggi l'originale francese",
    },
}


def language_name(code: str) -> str:
    """The language's own name for `code`, or the code itself when unknown."""
    return LANGUAGE_NAMES.get(code, LANGUAGE_NAMES.get(code.split("-")[0], code))


def known_banners(code: str) -> dict[str, str]:
    """The banners this table has in language `code` (none for most languages)."""
    for key in (code, code.split("-")[0]):
        if key in BANNERS:
            return dict(BANNERS[key])
    return {}


# The French source's theme toggle names (mkdocs.yml theme.palette), per language.
PALETTE_NAMES: Final[dict[str, dict[str, str]]] = {
    "Passer au thème clair": {
        "en": "Switch to light mode",
        "de": "Zum hellen Modus wechseln",
        "es": "Cambiar al modo claro",
        "it": "Passa alla modalità chiara",
    },
    "Passer au thème sombre": {
        "en": "Switch to dark mode",
        "de": "Zum dunklen Modus wechseln",
        "es": "Cambiar al modo oscuro",
        "it": "Passa alla modalità scura",
    },
    "Suivre le thème du système": {
        "en": "Follow the system theme",
        "de": "Dem Systemdesign folgen",
        "es": "Seguir el tema del sistema",
        "it": "Segui il tema di sistema",
    },
}


def palette_name(french: str, code: str) -> str | None:
    """A toggle name in language `code`, or None when it must be translated by hand."""
    names = PALETTE_NAMES.get(french, {})
    return names.get(code) or names.get(code.split("-")[0])
