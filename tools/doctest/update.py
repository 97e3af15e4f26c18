"""`--update`: write the output a command really printed back into the page source.

Only the *source* lines of an expected output are rewritten, never a snippet-expanded copy:
when the output shown on the site comes from a snippet file or from a macro, the rewrite is
refused with a message saying where the text lives.  Lines that still match (placeholders,
`...`) are kept as written; see `matcher.compare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.doctest.parser import Block, ConsoleCommand
from tools.doctest.render import RenderedPage


class UpdateRefused(Exception):
    pass


@dataclass(frozen=True)
class Edit:
    file: Path
    first_line: int  # 1-based source line where the replaced lines start (or insertion point)
    count: int  # source lines replaced; 0 inserts before first_line
    new_lines: tuple[str, ...]
    where: str
    # What the source must still say there (the lines replaced, or the line an insertion
    # follows): the page may have been edited while the doctest ran.
    expect: tuple[str, ...] = ()


def plan(page: RenderedPage, block: Block, cmd: ConsoleCommand, new_output: list[str]) -> Edit:
    expected = list(cmd.output)
    while expected and not expected[-1].strip():
        expected.pop()
    new = [(block.indent + line) if line.strip() else "" for line in new_output]
    if not expected:
        anchor = page.origins[cmd.last_line]
        if anchor.file != page.source:
            raise UpdateRefused(
                f"{page.where(cmd.last_line)}: the command comes from a snippet; "
                "add its output there by hand"
            )
        written = page.source.read_text(encoding="utf-8").split("\n")
        return Edit(
            page.source,
            anchor.line + 1,
            0,
            tuple(new),
            page.where(cmd.line),
            (written[anchor.line - 1],),
        )
    indices = range(cmd.output_start, cmd.output_start + len(expected))
    origins = [page.origins[i] for i in indices]
    first = origins[0]
    for k, o in zip(indices, origins, strict=True):
        if o.file != page.source:
            raise UpdateRefused(
                f"{page.where(k)}: this expected output comes from a snippet file; "
                "update it there by hand"
            )
        if not o.verbatim:
            raise UpdateRefused(
                f"{page.where(k)}: this expected output is produced by a macro; "
                "update the source by hand"
            )
    if [o.line for o in origins] != list(range(first.line, first.line + len(origins))):
        raise UpdateRefused(
            f"{page.where(cmd.output_start)}: the expected output is not contiguous in the source"
        )
    old = tuple(page.lines[i] for i in indices)
    return Edit(
        page.source, first.line, len(origins), tuple(new), page.where(cmd.output_start), old
    )


def apply(edits: list[Edit]) -> tuple[list[str], list[str]]:
    """Apply edits bottom-up per file: (`file:line` rewritten, refusals)."""
    done: list[str] = []
    refused: list[str] = []
    by_file: dict[Path, list[Edit]] = {}
    for e in edits:
        by_file.setdefault(e.file, []).append(e)
    for path, file_edits in by_file.items():
        lines = path.read_text(encoding="utf-8").split("\n")
        for e in sorted(file_edits, key=lambda e: e.first_line, reverse=True):
            if e.count:
                now = tuple(lines[e.first_line - 1 : e.first_line - 1 + e.count])
            else:
                now = tuple(lines[e.first_line - 2 : e.first_line - 1])
            if e.expect and now != e.expect:
                refused.append(f"{e.where}: the page changed during the run; run --update again")
                continue
            lines[e.first_line - 1 : e.first_line - 1 + e.count] = list(e.new_lines)
            done.append(e.where)
        path.write_text("\n".join(lines), encoding="utf-8")
    return sorted(done), refused


class Updates:
    """The edits `--update` plans for one page while it runs, applied when it ends."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []
        self.notes: list[str] = []  # what was rewritten or refused, for the report

    def plan(self, page: RenderedPage, block: Block, cmd: ConsoleCommand, lines: list[str]) -> None:
        try:
            self.edits.append(plan(page, block, cmd, lines))
        except UpdateRefused as exc:
            self.notes.append(f"--update refused: {exc}")

    def apply(self) -> None:
        if not self.edits:
            return
        done, refused = apply(self.edits)
        self.notes += [f"--update rewrote the expected output at {w}" for w in done]
        self.notes += [f"--update refused: {r}" for r in refused]
        self.edits = []
