"""The Sybil side: a page document whose text is the rendered page.

`page_document` renders the source page (macros, snippets), finds its examples and
gives Sybil one region per example, one per doctest syntax error (so that a malformed
directive is a failing test naming file and line), and a last zero-width region at the end
of the page that runs the cleanup blocks and the leak check.  Example line numbers are
*source* line numbers, so test ids and failures point at what the writer edits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from sybil import Document, Example, Region

from tools.doctest.page import PageRuntime
from tools.doctest.parser import Block, parse_lines
from tools.doctest.render import RenderedPage, RenderError

RUNTIME = "doctest_runtime"


class PageEnd:
    """Marker for the region that closes the page."""

    def __repr__(self) -> str:
        return "<page end: cleanup and leak check>"


class Problem:
    def __init__(self, message: str):
        self.message = message

    def __repr__(self) -> str:
        return f"<doctest problem: {self.message}>"


class PageDocument(Document):
    def __init__(self, text: str, path: str):
        super().__init__(text, path)
        self.line_starts = [0]
        for k, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(k + 1)
        self.runtime: PageRuntime | None = None
        self.render_error: str | None = None

    def source_line(self, position: int) -> int:
        """Line of the page source for a position in the rendered text."""
        line = self.text.count("\n", 0, position)
        if self.runtime is None:
            return 1
        if line >= len(self.runtime.page.origins):
            return len(self.runtime.page.origins) and self.runtime.page.origins[-1].page_line + 1
        return self.runtime.page.page_line(line)

    def examples(self) -> Iterator[Example]:
        # Sybil numbers lines in the rendered text; writers edit the source.
        for _, region in self.regions:
            yield Example(self, self.source_line(region.start), 1, region, self.namespace)


def page_document(path: Path, render: Callable[[Path], RenderedPage]) -> PageDocument:
    """The page at `path` as the site shows it (`render` is the run's renderer), with a
    region for each example, each doctest syntax error and the page's end."""
    try:
        rendered = render(path)
    except RenderError as exc:
        # The page cannot be shown as the site shows it: one failing example says why.
        doc = PageDocument("", str(path))
        doc.render_error = str(exc)
        doc.add(Region(0, 0, Problem(str(exc)), _evaluate_problem))
        return doc
    doc = PageDocument(rendered.text, str(path))
    parsed = parse_lines(rendered.lines)
    problems = [(p.line, p.message, rendered.where(p.line)) for p in parsed.problems]
    problems += _duplicate_includes(rendered)
    doc.runtime = PageRuntime(rendered, parsed, [(line, msg) for line, msg, _ in sorted(problems)])
    doc.namespace[RUNTIME] = doc.runtime
    # A problem inside a block (a console block without `$`) replaces that block.
    spans = [(b.start, b.end) for b in parsed.blocks]
    broken = {span for span in spans for line, _, _ in problems if span[0] <= line <= span[1]}
    for line, message, where in sorted(problems):
        at = next((a for a, b in broken if a <= line <= b), line)
        pos = doc.line_starts[at]
        doc.add(Region(pos, pos, Problem(f"{where}: {message}"), _evaluate_problem))
    for block in parsed.blocks:
        if block.kind == "cleanup" or (block.start, block.end) in broken:
            continue  # cleanup blocks run in the page-end region, after everything else
        start = doc.line_starts[block.start]
        end = doc.line_starts[block.end] if block.end < len(doc.line_starts) else len(doc.text)
        doc.add(Region(start, end, block, _evaluate_block))
    doc.add(Region(len(doc.text), len(doc.text), PageEnd(), _evaluate_end))
    return doc


def _duplicate_includes(rendered: RenderedPage) -> list[tuple[int, str, str]]:
    seen: dict[str, Path] = {}
    problems: list[tuple[int, str, str]] = []
    for inc in rendered.includes:
        name = inc.path.name
        other = seen.get(name)
        if other is not None and other != inc.path and other.read_bytes() != inc.path.read_bytes():
            problems.append(
                (
                    _rendered_index(rendered, inc.page_line),
                    f"two included snippets are both saved as {name!r} in the page's "
                    f"working directory ({rendered.rel(seen[name])} and "
                    f"{rendered.rel(inc.path)}); rename one",
                    f"{rendered.rel(rendered.source)}:{inc.page_line}",
                )
            )
        seen.setdefault(name, inc.path)
    return problems


def _rendered_index(rendered: RenderedPage, page_line: int) -> int:
    for k, o in enumerate(rendered.origins):
        if o.page_line >= page_line:
            return k
    return 0


def _runtime(example: Example) -> PageRuntime:
    runtime = example.namespace.get(RUNTIME)
    assert isinstance(runtime, PageRuntime), "page runtime missing"
    return runtime


# Evaluators return the failure message: Sybil reports it as is, without a traceback.


def _evaluate_problem(example: Example) -> str:
    problem = example.parsed
    assert isinstance(problem, Problem)
    return problem.message


def _evaluate_block(example: Example) -> str | None:
    block = example.parsed
    assert isinstance(block, Block)
    return _runtime(example).outcome(block)


def _evaluate_end(example: Example) -> str | None:
    return _runtime(example).end()
