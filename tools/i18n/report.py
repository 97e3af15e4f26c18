"""The translators' report: per locale, missing pages, outdated pages, parity problems.

A translated page records in its front matter the source commit it was translated from
(`source_commit`). Outdated means the source page changed since that commit; the report
prints the source diff to apply. Parity is checked against the source *as translated* (at
that commit): a French author who changes a command makes the translation outdated, not
broken, and the translator gets both the diff and, once updated, the parity check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.i18n import frontmatter, parity
from tools.i18n.anchors import toc_renderer
from tools.i18n.gitrepo import Repo
from tools.i18n.locales import I18nError, Locale, Project

SOURCE_COMMIT_KEY = "source_commit"


@dataclass(frozen=True)
class Outdated:
    page: str  # path relative to the docs folders, e.g. 07-…/index.md
    commit: str
    diff: str


@dataclass
class LocaleReport:
    locale: Locale
    docs: str  # the locale's folder relative to the project root, e.g. docs/en
    total: int = 0
    translated: int = 0
    missing: list[str] = field(default_factory=list)
    outdated: list[Outdated] = field(default_factory=list)
    # "file:line: message", naming the translated file (and the source line when useful).
    parity: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.parity or self.errors)


def pages(docs_dir: Path) -> list[str]:
    """Markdown pages under `docs_dir`, as sorted POSIX paths relative to it."""
    if not docs_dir.is_dir():
        return []
    return sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*.md"))


class _Checker:
    """Checks one locale's pages against the source, with caches shared across pages."""

    def __init__(self, project: Project, repo: Repo) -> None:
        self.project = project
        self.repo = repo
        self._renderers: dict[Path, Callable[[str, str], list[tuple[str, str]]]] = {}

    def rel(self, path: Path) -> str:
        return path.relative_to(self.project.root).as_posix()

    def renderer(self, locale: Locale) -> Callable[[str, str], list[tuple[str, str]]]:
        if locale.config_file not in self._renderers:
            self._renderers[locale.config_file] = toc_renderer(locale.config_file)
        return self._renderers[locale.config_file]

    def items(self, text: str, name: str, locale: Locale, page: str) -> list[parity.Item]:
        meta = frontmatter.parse(text, name)
        found = parity.extract(text, meta.body_start)
        macros = meta.data.get("render_macros")
        if macros is not None:
            found.insert(0, parity.Item("front matter", f"render_macros: {macros}", 1))
        render = self.renderer(locale)
        try:
            anchors = parity.anchor_items(text, meta.body_start, lambda t: render(t, page))
        except Exception as exc:  # a Markdown extension failing, e.g. a missing snippet
            raise I18nError(f"{name}: cannot render the page to find its anchors: {exc}") from exc
        return found + anchors

    def check_page(self, locale: Locale, page: str, report: LocaleReport) -> None:
        target = locale.docs_dir / page
        source = self.project.source.docs_dir / page
        name, source_name = self.rel(target), self.rel(source)
        if not source.is_file():
            report.errors.append(
                f"{name}: its source page {source_name} does not exist (renamed or deleted?):"
                " move or delete this translation"
            )
            return
        text = target.read_text(encoding="utf-8")
        meta = frontmatter.parse(text, name)
        value = meta.data.get(SOURCE_COMMIT_KEY)
        line = meta.key_lines.get(SOURCE_COMMIT_KEY, 1)
        if not value:
            report.errors.append(
                f"{name}:1: no `{SOURCE_COMMIT_KEY}` in the front matter: record the source"
                f" commit translated from (python -m tools.i18n stamp {name})"
            )
            return
        commit = self.repo.resolve(str(value))
        if commit is None:
            hint = (
                " (this clone is shallow: fetch the full history)" if self.repo.is_shallow() else ""
            )
            report.errors.append(
                f"{name}:{line}: {SOURCE_COMMIT_KEY} {value} is not a commit of this"
                f" repository{hint}"
            )
            return
        old_source = self.repo.show(commit, self.rel(source))
        if old_source is None:
            report.errors.append(
                f"{name}:{line}: {source_name} did not exist at {SOURCE_COMMIT_KEY} {value}"
            )
            return
        if old_source != source.read_text(encoding="utf-8"):
            report.outdated.append(Outdated(page, commit, self.repo.diff(commit, self.rel(source))))
        source_items = self.items(
            old_source, f"{source_name}@{commit[:12]}", self.project.source, page
        )
        problems = parity.compare(source_items, self.items(text, name, locale, page))
        for problem in sorted(problems, key=lambda p: p.line):
            where = f" (source line {problem.source_line})" if problem.source_line else ""
            report.parity.append(f"{name}:{problem.line}: {problem.message}{where}")

    def check_locale(self, locale: Locale) -> LocaleReport:
        report = LocaleReport(locale, docs=self.rel(locale.docs_dir))
        source_pages = pages(self.project.source.docs_dir)
        translated = pages(locale.docs_dir)
        report.total = len(source_pages)
        report.missing = [page for page in source_pages if page not in set(translated)]
        for page in translated:
            try:
                self.check_page(locale, page, report)
            except I18nError as exc:
                report.errors.append(str(exc))
        report.translated = sum(1 for page in translated if page in set(source_pages))
        return report


def page_anchors(project: Project, path: Path) -> list[tuple[str, str]]:
    """(id, title) of each heading of the page at `path`, rendered as its locale renders it."""
    path = path.resolve()
    for locale in project.locales:
        if path.is_relative_to(locale.docs_dir):
            page = path.relative_to(locale.docs_dir).as_posix()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise I18nError(f"{path}: cannot read: {exc.strerror}") from None
            return toc_renderer(locale.config_file)(text, page)
    raise I18nError(f"{path}: not in the docs folder of any locale")


def build(project: Project, codes: list[str] | None = None) -> list[LocaleReport]:
    """Reports for every translation (or only `codes`)."""
    checker = _Checker(project, Repo(project.root))
    locales = [project.locale(c) for c in codes] if codes else list(project.translations)
    return [checker.check_locale(loc) for loc in locales if not loc.is_source]


def render(reports: list[LocaleReport], *, diffs: bool = True) -> Iterator[str]:
    """Human-readable lines of the report."""
    if not reports:
        yield "No translation configured (mkdocs.<code>.yml): nothing to check."
    for report in reports:
        loc = report.locale
        yield (
            f"== {loc.code} ({loc.name}): {report.translated}/{report.total} pages translated,"
            f" {len(report.missing)} missing, {len(report.outdated)} outdated,"
            f" {len(report.parity)} parity problems, {len(report.errors)} errors"
        )
        if report.missing:
            yield "Missing pages (served from the French source with a banner):"
            yield from (f"  {report.docs}/{page}" for page in report.missing)
        for item in report.outdated:
            yield f"Outdated: {report.docs}/{item.page} (translated from {item.commit[:12]})"
            if diffs:
                yield "  Source changes to carry over:"
                yield from (f"    {line}" for line in item.diff.splitlines())
        if report.parity:
            yield "Parity problems:"
            yield from (f"  {line}" for line in report.parity)
        if report.errors:
            yield "Errors:"
            yield from (f"  {line}" for line in report.errors)
