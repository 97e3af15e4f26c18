"""MkDocs hook: every script and stylesheet of the site is served by the site itself.

Material loads Mermaid from a CDN unless `window.mermaid` already exists, so the site ships
`mermaid.min.js` through `extra_javascript`, from `overrides/assets/vendor/` (installed at
build time by `tools/vendor_assets.py`, not committed). MkDocs does not check that such a
file exists: without this hook a strict build would pass and the browser would silently
fetch Mermaid from the Internet. So the build fails here, naming the missing file.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError


def _path(entry: object) -> str:
    # extra_javascript items are plain strings or ExtraScriptValue objects (MkDocs 1.5+).
    return str(getattr(entry, "path", entry))


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    roots = [Path(config.docs_dir), *(Path(d) for d in config.theme.dirs)]
    for key in ("extra_javascript", "extra_css"):
        for entry in config[key]:
            path = _path(entry)
            if "://" in path or path.startswith("//"):
                raise PluginError(
                    f"{key} : « {path} » est chargé depuis un autre hôte ; "
                    "le site doit tout servir lui-même (copiez le fichier dans overrides/)."
                )
            if not any((root / path).is_file() for root in roots):
                raise PluginError(
                    f"{key} : « {path} » est introuvable (ni dans {config.docs_dir} ni dans le "
                    "thème). Pour les fichiers de overrides/assets/vendor/, lancez "
                    "`python tools/vendor_assets.py` (les sessions nox le font)."
                )
    return config
