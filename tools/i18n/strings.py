"""Default reader-facing strings per language: language names and the banner texts.

A locale's config may override any of them under `extra.i18n` (see `add-locale`, which
writes them out so translators see and edit them). A language missing here gets the English
text, marked for translation by the scaffold.
"""

from __future__ import annotations

from typing import Final

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

# Banner keys, in the order the scaffold writes them.
BANNER_KEYS: Final = (
    "untranslated_title",
    "untranslated_text",
    "outdated_title",
    "outdated_text",
    "source_link",
)

# The source is French: every text says so in the reader's language.
BANNERS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "untranslated_title": "Not translated yet",
        "untranslated_text": (
            "This page has not been translated into English yet: below is the French original."
        ),
        "outdated_title": "Translation out of date",
        "outdated_text": (
            "The French original of this page has changed since this translation was made:"
            " some of it may be missing or no longer accurate."
        ),
        "source_link": "Read the French original",
    },
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

# The English strings stand in for a language this table lacks; the scaffold flags them.
FALLBACK_LANGUAGE: Final = "en"


def language_name(code: str) -> str:
    """The language's own name for `code`, or the code itself when unknown."""
    return LANGUAGE_NAMES.get(code, LANGUAGE_NAMES.get(code.split("-")[0], code))


def default_banners(code: str) -> tuple[dict[str, str], bool]:
    """Banner strings for `code`, and whether they are really in that language."""
    for key in (code, code.split("-")[0]):
        if key in BANNERS:
            return dict(BANNERS[key]), True
    return dict(BANNERS[FALLBACK_LANGUAGE]), False


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
