"""Render a source page into the Markdown the site shows, with a map back to the sources.

The site runs mkdocs-macros (Jinja, `on_page_markdown`, only on pages with
`render_macros: true` when `render_by_default` is false) and then pymdownx.snippets
(`--8<--`, a Markdown preprocessor).  This module drives *the installed plugins with the
project's own mkdocs.yml*, so a change of configuration is seen by the doctest; it never
re-implements them.

Line map: macro output is aligned with the source lines (difflib, exact for untouched lines);
snippet expansion is tracked by tagging every line before pymdownx.snippets sees it, with an
invisible marker that rides along through its expansion and indentation.  Each rendered
line then knows its file, its line there, whether it is a verbatim copy (what `--update` may
rewrite), and the page line it belongs to (for a snippet line: where it was included).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils.meta import get_data
from pymdownx.snippets import SnippetExtension, SnippetMissingError, SnippetPreprocessor

_TAG = re.compile("\ue000(\\d+)\ue001")


class RenderError(Exception):
    """The page cannot be rendered as the site would render it; the message names file:line."""


@dataclass(frozen=True)
class Origin:
    file: Path  # absolute path of the file the rendered line comes from
    line: int  # 1-based line in that file
    verbatim: bool  # the rendered line is that source line as written (modulo indentation)
    page_line: int  # line of the page source (a snippet line: the line that included it)
    indent: str = ""  # indentation pymdownx.snippets added in front of a snippet line


@dataclass(frozen=True)
class Include:
    """A snippet file that the page includes at top level (`--8<-- "07/02-cni/pod.yaml"`)."""

    path: Path
    page_line: int


@dataclass
class RenderedPage:
    source: Path
    root: Path
    text: str
    origins: list[Origin]
    meta: dict[str, Any]
    includes: list[Include] = field(default_factory=list)
    macros_rendered: bool = False

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def where(self, index: int) -> str:
        """`file:line` for a 0-based rendered line, naming the include site for snippets."""
        o = self.origins[min(index, len(self.origins) - 1)]
        if o.file == self.source:
            return f"{self.rel(o.file)}:{o.line}"
        return f"{self.rel(o.file)}:{o.line} (included at {self.rel(self.source)}:{o.page_line})"

    def page_line(self, index: int) -> int:
        return self.origins[min(index, len(self.origins) - 1)].page_line


class _TrackingSnippets(SnippetPreprocessor):
    """pymdownx.snippets, unchanged, except that the lines it reads carry origin tags."""

    def __init__(
        self, config: dict[str, Any], md: markdown.Markdown, table: list[tuple[Path, int]]
    ):
        super().__init__(config, md)
        self.table = table

    def tag(self, lines: list[str], origins: list[tuple[Path, int]], blank: bool) -> list[str]:
        # Notation lines (includes, block markers, section markers) must stay untouched for
        # the real preprocessor to recognise them; they never reach the output anyway.
        mask = self.get_syntax_mask(lines)
        out = []
        for line, notation, origin in zip(lines, mask, origins, strict=True):
            if notation or (not blank and not line.strip()):
                out.append(line)
            else:
                self.table.append(origin)
                out.append(f"{line}\ue000{len(self.table) - 1}\ue001")
        return out

    def read_lines(self, path: str) -> list[str]:
        lines = super().read_lines(path)
        p = Path(path).resolve()
        # Blank snippet lines stay untagged: textwrap.dedent (dedent_subsections) must keep
        # treating them as blank; their origin is inferred from their neighbours.
        return self.tag(lines, [(p, i + 1) for i in range(len(lines))], blank=False)


class Renderer:
    """Renders pages with one project's mkdocs.yml; load it once, render many pages."""

    def __init__(self, config_file: Path):
        self.config_file = config_file.resolve()
        self.root = self.config_file.parent
        self._log = _Capture()
        try:
            self.config: MkDocsConfig = load_config(str(self.config_file))
        except Exception as exc:  # mkdocs raises its own types; all mean the same here
            raise RenderError(f"{self.config_file}: cannot load the MkDocs config: {exc}") from exc
        self.macros = self.config.plugins.get("macros")
        if self.macros is not None:
            with self._log.capturing():
                self.macros.on_config(self.config)
        self.md = markdown.Markdown(
            extensions=self.config.markdown_extensions,
            extension_configs=self.config.mdx_configs,
        )
        ext = next(
            (e for e in self.md.registeredExtensions if isinstance(e, SnippetExtension)), None
        )
        self.snippet_config: dict[str, Any] | None = ext.getConfigs() if ext else None
        if self.snippet_config is not None:
            # MkDocs runs from the project root, where relative base paths resolve; the
            # doctest may run from elsewhere.
            base = self.snippet_config.get("base_path") or ["."]
            base = [base] if isinstance(base, str | Path) else base
            self.snippet_config["base_path"] = [str(self.root / b) for b in base]

    # -- macros ----------------------------------------------------------------------------

    def _src_path(self, path: Path) -> str:
        docs_dir = Path(self.config.docs_dir).resolve()
        try:
            return str(path.relative_to(docs_dir))
        except ValueError:
            return str(path.relative_to(self.root))

    def _macros(self, path: Path, body: str, meta: dict[str, Any]) -> tuple[str, bool]:
        if self.macros is None:
            return body, False
        file = File(
            self._src_path(path),
            self.config.docs_dir,
            self.config.site_dir,
            self.config.use_directory_urls,
        )
        page = Page(None, file, self.config)
        page.markdown, page.meta = body, meta
        self._log.records.clear()
        try:
            with self._log.capturing():
                out = self.macros.on_page_markdown(
                    body, page=page, config=self.config, files=Files([file])
                )
        except SystemExit as exc:  # on_error_fail: mkdocs-macros exits the process
            raise RenderError(
                f"{self._rel(path)}: macro rendering failed: {self._log.text()}"
            ) from exc
        errors = [r for r in self._log.records if r.levelno >= logging.WARNING]
        if errors:
            raise RenderError(f"{self._rel(path)}: macro rendering failed:\n{self._log.text()}")
        return out, out != body

    # -- snippets --------------------------------------------------------------------------

    def _snippets(
        self, lines: list[str], origins: list[tuple[Path, int]]
    ) -> tuple[list[str], list[tuple[Path, int] | None], _TrackingSnippets | None]:
        if self.snippet_config is None:
            return lines, list(origins), None
        table: list[tuple[Path, int]] = []
        proc = _TrackingSnippets(self.snippet_config, self.md, table)
        # The real, untagged run decides the text; the tagged run only says where lines
        # come from.  If they ever disagree the tags are dropped rather than trusted.
        plain = SnippetPreprocessor(self.snippet_config, self.md).run(list(lines))
        tagged = proc.run(proc.tag(list(lines), list(origins), blank=True))
        stripped = [_TAG.sub("", t) for t in tagged]
        if stripped != plain:
            return plain, [None] * len(plain), proc
        found: list[tuple[Path, int] | None] = []
        for t in tagged:
            m = _TAG.search(t)
            found.append(table[int(m.group(1))] if m else None)
        return plain, found, proc

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def includes(
        self,
        proc: SnippetPreprocessor | None,
        lines: list[str],
        page: Path,
        source_line: Callable[[int], int] = lambda idx: idx + 1,
    ) -> list[Include]:
        """Top-level snippet includes of the (macro-rendered) page, with their line."""
        if proc is None:
            return []
        out: list[Include] = []
        block = False
        for idx, line in enumerate(lines):
            m = proc.RE_ALL_SNIPPETS.match(line)
            path: str | None = None
            if m and not m.group("escape"):
                if m.group("inline_marker"):
                    path = m.group("snippet")[1:-1].strip()
                else:
                    block = not block
                    continue
            elif block:
                path = line.strip()
            if not path or path.startswith(";"):
                continue
            target = proc.parse_snippet_target(path)
            if target is None:
                continue
            resolved = proc.get_snippet_path(target["path"])
            if resolved is None:
                raise RenderError(
                    f"{self._rel(page)}:{source_line(idx)}: snippet {path!r} not found "
                    f"(base path: {', '.join(self._rel(Path(b)) for b in proc.base_path)})"
                )
            out.append(Include(Path(resolved).resolve(), idx))
        return out

    # -- the whole page --------------------------------------------------------------------

    def render(self, path: Path) -> RenderedPage:
        path = path.resolve()
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RenderError(f"{self._rel(path)}: cannot read: {exc}") from exc
        src_lines = source.split("\n")
        body, meta = get_data(source)
        rendered, macros_rendered = self._macros(path, body, meta)
        r_lines = rendered.split("\n")
        stage1 = _align(src_lines, r_lines)  # (source line, verbatim) per macro-output line

        # Page lines are tagged with their index in the macro output (1-based).
        origins_in = [(path, k + 1) for k in range(len(r_lines))]
        rel = self._rel(path)
        scanner = SnippetPreprocessor(self.snippet_config, self.md) if self.snippet_config else None
        # Top-level includes first: a missing file is then named with its line.
        includes = self.includes(scanner, r_lines, path, lambda idx: stage1[idx][0])
        try:
            out_lines, found, _ = self._snippets(r_lines, origins_in)
        except SnippetMissingError as exc:
            raise RenderError(f"{rel}: {exc}") from exc

        origins = _resolve(path, out_lines, found, stage1, src_lines)
        incs = [Include(i.path, stage1[i.page_line][0]) for i in includes]
        return RenderedPage(
            source=path,
            root=self.root,
            text="\n".join(out_lines),
            origins=origins,
            meta=meta,
            includes=incs,
            macros_rendered=macros_rendered,
        )


def _align(src: list[str], out: list[str]) -> list[tuple[int, bool]]:
    """For each output line: (1-based source line, is it the source line verbatim)."""
    result: list[tuple[int, bool]] = [(1, False)] * len(out)
    sm = difflib.SequenceMatcher(None, src, out, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                result[j1 + k] = (i1 + k + 1, True)
        elif tag == "replace":
            for k in range(j2 - j1):
                result[j1 + k] = (i1 + min(k, i2 - i1 - 1) + 1, False)
        elif tag == "insert":
            for k in range(j2 - j1):
                result[j1 + k] = (min(i1, len(src) - 1) + 1, False)
    return result


def _resolve(
    page: Path,
    out_lines: list[str],
    found: list[tuple[Path, int] | None],
    stage1: list[tuple[int, bool]],
    src_lines: list[str],
) -> list[Origin]:
    file_lines: dict[Path, list[str]] = {page: src_lines}

    def text_of(p: Path, n: int) -> str | None:
        if p not in file_lines:
            try:
                file_lines[p] = p.read_text(encoding="utf-8").split("\n")
            except OSError:
                file_lines[p] = []
        lines = file_lines[p]
        return lines[n - 1] if 0 < n <= len(lines) else None

    origins: list[Origin] = []
    last_page_idx = -1  # index into stage1 of the last page line seen
    prev: Origin | None = None
    for k, line in enumerate(out_lines):
        f = found[k]
        if f is None:
            # Untagged: a blank snippet line (or tracking gave up).  Continue the previous
            # line's file when the next line of that file is this one.
            if prev is not None and text_of(prev.file, prev.line + 1) is not None:
                nxt = text_of(prev.file, prev.line + 1) or ""
                same = nxt.strip() == line.strip()
                o = Origin(prev.file, prev.line + 1, same, prev.page_line, prev.indent)
            else:
                # Nothing to continue (blank lines pymdownx adds, e.g. for auto_append):
                # attach it to the page line that came last.
                at = prev.page_line if prev is not None else 1
                o = Origin(page, at, False, at)
        elif f[0] == page:
            # A page line: the tag carries the macro-output index it was given.
            idx = f[1] - 1
            src_line, verbatim = stage1[idx]
            last_page_idx = idx
            o = Origin(page, src_line, verbatim, src_line)
        else:
            written = text_of(f[0], f[1]) or ""
            indent = line[: len(line) - len(written)] if line.endswith(written) else ""
            include_idx = min(last_page_idx + 1, len(stage1) - 1)
            o = Origin(f[0], f[1], line.endswith(written), stage1[include_idx][0], indent)
        origins.append(o)
        prev = o
    return origins


class _Capture(logging.Handler):
    """Collects what mkdocs-macros logs while rendering (it reports errors that way)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records if r.levelno >= logging.WARNING)

    def capturing(self) -> _Capturing:
        return _Capturing(self)


class _Capturing:
    def __init__(self, handler: _Capture):
        self.handler = handler
        self.logger = logging.getLogger("mkdocs.plugins")

    def __enter__(self) -> None:
        self.logger.addHandler(self.handler)

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
