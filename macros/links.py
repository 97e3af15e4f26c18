"""Links between pages that may not exist yet.

The chapter introduction announces sections 7.1 to 7.5, which land one by one. A page
that links to them through `section_link` shows a plain title until the target file exists
in the docs folder, then a relative Markdown link, which MkDocs validates like any other.
"""

from __future__ import annotations

import posixpath
from pathlib import Path


def section_link(docs_dir: str | Path, page_src_uri: str, target: str, title: str) -> str:
    """A Markdown link `[title](target)` if `target` exists, else `title` alone.

    `target` is written as in a Markdown link of the page `page_src_uri` (path relative to
    the docs folder, with `/`): relative to that page, optionally with a `#fragment`.
    """
    if not title.strip():
        raise ValueError(f"section_link({target!r}) : titre vide.")
    path, _, _fragment = target.partition("#")
    # Absolute paths and URLs would bypass the docs folder and MkDocs' link validation.
    if not path or path.startswith("/") or "://" in target or path.startswith("mailto:"):
        raise ValueError(
            f"section_link({target!r}) : chemin relatif vers une page .md attendu "
            f"(comme un lien Markdown de {page_src_uri})."
        )
    if not path.endswith(".md"):
        raise ValueError(f"section_link({target!r}) : la cible doit être un fichier .md.")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page_src_uri), path))
    if resolved == ".." or resolved.startswith("../"):
        raise ValueError(
            f"section_link({target!r}) depuis {page_src_uri} : la cible sort du dossier docs."
        )
    if (Path(docs_dir) / resolved).is_file():
        return f"[{title}]({target})"
    return title
