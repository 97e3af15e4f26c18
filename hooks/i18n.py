"""MkDocs hook for every locale (listed under `hooks:` in mkdocs.yml, inherited by the others).

- Language switcher: `extra.alternate` is computed from the locale configs found beside
  `mkdocs.yml`, so adding a locale needs no edit elsewhere; `overrides/partials/alternate.html`
  turns each entry into a link to the same page in that language.
- In a translation: pages not translated yet are served from the French source, with a
  banner in the reader's language linking the French page; translated pages whose French
  source changed since their `source_commit` get an "out of date" banner; `site_url`
  gains the `<code>/` folder.
- Every locale's reader-facing strings (banners, the "verified" note) come from its own
  config's `extra.i18n`: a locale that lacks one fails the build, naming the locale, its
  file and the key.
"""

from __future__ import annotations

import html
import logging
import os
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

# MkDocs loads hooks by file path: make `tools.i18n` importable from the project root.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from mkdocs.config.defaults import MkDocsConfig  # noqa: E402
from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.livereload import LiveReloadServer  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402
from mkdocs.structure.pages import Page  # noqa: E402

from tools.i18n.gitrepo import GitError, Repo  # noqa: E402
from tools.i18n.locales import I18nError, Locale, Project, discover  # noqa: E402
from tools.i18n.report import SOURCE_COMMIT_KEY  # noqa: E402

log = logging.getLogger("mkdocs.hooks.i18n")


@dataclass
class _State:
    project: Project
    locale: Locale
    fallback: set[str] = field(default_factory=set)  # src_uri of pages served from the source
    repo: Repo | None = None
    outdated: dict[str, bool] = field(default_factory=dict)


_state: _State | None = None


def _root_link(here: Locale, there: Locale) -> str:
    """URL of `there`'s site root relative to `here`'s (site/en vs site: `../`)."""
    rel = posixpath.relpath(there.site_dir.as_posix(), here.site_dir.as_posix())
    return "./" if rel == "." else rel + "/"


def _alternate(project: Project, here: Locale, there: Locale, source_url: str) -> dict[str, str]:
    """One `extra.alternate` entry, as seen from the locale `here`.

    `root` (relative to this locale's root) is what the switcher partial builds page links
    from. `link` feeds Material's `<link rel="alternate" hreflang>`, which goes through
    MkDocs' `url` filter; that filter resolves a leading `../` against the site root, wrong
    from any page but the home, so `link` is absolute whenever `site_url` says where the
    source site lives.
    """
    root = _root_link(here, there).removeprefix("./")  # "" for this locale itself
    if not source_url:
        return {"name": there.name, "lang": there.code, "link": root or "./", "root": root}
    link = urljoin(source_url.rstrip("/") + "/", _root_link(project.source, there))
    return {"name": there.name, "lang": there.code, "link": link, "root": root}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _state
    try:
        project = discover(Path(config.config_file_path).parent)
    except I18nError as exc:
        raise PluginError(f"i18n: {exc}") from None
    docs_dir = Path(config.docs_dir).resolve()
    locale = next((loc for loc in project.locales if loc.docs_dir == docs_dir), None)
    if locale is None:
        log.warning(f"i18n: docs_dir {docs_dir} belongs to no locale config; no switcher")
        _state = None
        return config
    try:
        locale.check_strings()
    except I18nError as exc:
        raise PluginError(f"i18n: {exc}") from None
    _state = _State(project=project, locale=locale)
    source_url = config.site_url or ""
    if not locale.is_source and source_url.rstrip("/").endswith(f"/{locale.code}"):
        source_url = source_url.rstrip("/").removesuffix(f"/{locale.code}") + "/"
    if len(project.locales) > 1:
        config.extra["alternate"] = [
            _alternate(project, locale, loc, source_url) for loc in project.locales
        ]
    if locale.is_source:
        return config
    if source_url:
        config.site_url = urljoin(source_url.rstrip("/") + "/", f"{locale.code}/")
    try:
        _state.repo = Repo(project.root)
    except GitError as exc:
        log.info(f"i18n: {exc}: outdated translations will carry no banner")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Serve every source file the translation lacks (pages, images, styles) from the source."""
    if _state is None or _state.locale.is_source:
        return files
    source = _state.project.source.docs_dir
    for dirpath, dirnames, filenames in os.walk(source):
        # Hidden files and folders are not part of a site (MkDocs skips them too).
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            rel = Path(dirpath, filename).relative_to(source).as_posix()
            if files.get_file_from_path(rel) is not None:
                continue
            files.append(
                File(
                    rel,
                    src_dir=str(source),
                    dest_dir=config.site_dir,
                    use_directory_urls=config.use_directory_urls,
                )
            )
            if rel.endswith(".md"):
                _state.fallback.add(rel)
    return files


def on_serve(server: LiveReloadServer, config: MkDocsConfig, builder: Any) -> LiveReloadServer:
    if _state is not None and not _state.locale.is_source:
        server.watch(str(_state.project.source.docs_dir))
    return server


def _is_outdated(page: Page) -> bool:
    """True when the French source changed since the page's `source_commit`."""
    assert _state is not None
    rel = page.file.src_uri
    if rel in _state.outdated:
        return _state.outdated[rel]
    name = (_state.locale.docs_dir / rel).relative_to(_state.project.root).as_posix()
    commit = page.meta.get(SOURCE_COMMIT_KEY)
    outdated = False
    if not commit:
        log.warning(f"i18n: {name}: no {SOURCE_COMMIT_KEY} in the front matter")
    elif _state.repo is not None:
        source = _state.project.source.docs_dir / rel
        full = _state.repo.resolve(str(commit))
        if full is None:
            # A shallow clone (a CI checkout) lacks old commits: not the page's fault.
            report = log.info if _state.repo.is_shallow() else log.warning
            report(f"i18n: {name}: {SOURCE_COMMIT_KEY} {commit} is not a known commit")
        elif source.is_file():
            old = _state.repo.show(full, source.relative_to(_state.project.root).as_posix())
            outdated = old != source.read_text(encoding="utf-8")
    _state.outdated[rel] = outdated
    return outdated


def _to_root(url: str) -> str:
    """Relative URL from a page (`07-x/01-y/`, `404.html`) up to its site's root."""
    # `07-x/01-y/` is two folders deep; `07-x/01-y.html` one; `404.html` none.
    depth = (
        url.count("/") if url.endswith("/") else posixpath.dirname(url).count("/") + ("/" in url)
    )
    return "../" * depth


def _banner(kind: str, page: Page) -> str:
    assert _state is not None
    loc, source = _state.locale, _state.project.source
    # From this page up to this locale's root, then over to the source's root, same path.
    href = _to_root(page.url) + _root_link(loc, source).removeprefix("./") + page.url
    title = html.escape(loc.text(f"{kind}_title"))
    text = html.escape(loc.text(f"{kind}_text"))
    link = html.escape(loc.text("source_link"))
    return (
        f'<div class="admonition warning i18n-banner" data-i18n-banner="{kind}">\n'
        f'<p class="admonition-title">{title}</p>\n'
        f'<p>{text} <a href="{html.escape(href or "./")}" hreflang="{source.code}"'
        f' target="_self">{link}</a></p>\n</div>\n'
    )


def on_page_content(html_text: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if _state is None or _state.locale.is_source:
        return html_text
    if page.file.src_uri in _state.fallback:
        # The text is the French original: say so to screen readers and translation tools.
        source = _state.project.source.code
        return _banner("untranslated", page) + f'<div lang="{source}">\n{html_text}\n</div>'
    if _is_outdated(page):
        return _banner("outdated", page) + html_text
    return html_text
