"""mkdocs-macros module of the translations (`plugins.macros.module_name` in mkdocs.<code>.yml).

The same variables and macros as the French site (`macros/`), with one difference:
`section_link` looks for its target among the French source's pages. A translation serves
every page it lacks from the source (hooks/i18n.py), so a section exists for its
readers as soon as its French page does, translated or not.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# mkdocs-macros loads this file by path: make the project's packages importable.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import macros as _source  # noqa: E402
from macros.links import section_link  # noqa: E402
from tools.i18n.locales import discover  # noqa: E402

# The plugin's other entry points, if the source module defines them, work here too.
for _name in ("on_pre_page_macros", "on_post_page_macros", "on_post_build"):
    if hasattr(_source, _name):
        globals()[_name] = getattr(_source, _name)


def define_env(env: Any) -> None:
    """The source's environment, then `section_link` resolved against the source's pages."""
    _source.define_env(env)
    source_docs = discover(Path(env.conf["config_file_path"]).parent).source.docs_dir

    def _section_link(target: str, title: str) -> str:
        return section_link(source_docs, env.page.file.src_uri, target, title)

    env.macro(_section_link, "section_link")
