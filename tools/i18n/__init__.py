"""Translators' tooling: locale discovery, the translation report, scaffolding, the MkDocs hook.

French (`mkdocs.yml`, `docs/fr/`) is the source; each other locale has its own config
`mkdocs.<code>.yml` that inherits it (`INHERIT: mkdocs.yml`) and a folder `docs/<code>/`
mirroring the French paths. `python -m tools.i18n --help` lists the commands.
"""
