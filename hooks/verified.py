"""MkDocs hook: a discreet "verified" note on each page the doctest report covers.

Reads `reports/doctest.json` (written by `nox -s doctest`, through the schema of
`tools/doctest/report.py`) and, under the page title, says
how many of the page's examples ran successfully on which Kubernetes version and when:
"12 exemples sur 12 vérifiés sur Kubernetes v1.37.2, le 26/11/2026".

Never a claim the report does not support:
- no report, an unknown schema, or a page the report does not cover: no note;
- the page, a snippet it includes or (for macro pages) the macros changed since the run
  (sha256 recorded in the report): no note;
- examples failed: the note says so instead; a page that failed otherwise (leaks, syntax
  errors) or ran no example: no note;
- a translated page gets the note of its French source only when its command blocks are
  the same as the source's (the report verified those commands, not others).
"""

from __future__ import annotations

import datetime
import hashlib
import html
import sys
from pathlib import Path
from typing import Any

# MkDocs loads hooks by file path: make the project's packages importable.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tools.doctest.report import SCHEMA, PageReport, Report  # noqa: E402
from tools.markdown import fences  # noqa: E402

__all__ = ["SCHEMA", "format_note", "note_for", "on_config", "on_page_content"]

REPORT = Path("reports") / "doctest.json"
SOURCE_LOCALE = "fr"

_report: Report | None = None
_root: Path = Path()

TEXTS = {
    "fr": {
        "ok": "{passed} {examples} sur {total} {verified} sur Kubernetes {version}, le {date}",
        "skipped": " ({skipped} non {run} sur le cluster de test)",
        "failed": "Attention : lors de la dernière vérification (Kubernetes {version}, le {date}), "
        "{failed} {examples} sur {total} {failed_word}",
        "failed_skipped": " et {skipped} {not_run}",
        "title": "Exemples exécutés sur un vrai cluster par le doctest du projet",
    },
    "en": {
        "ok": "{passed} of {total} {examples} verified on Kubernetes {version} on {date}",
        "skipped": " ({skipped} not run on the test cluster)",
        "failed": "Warning: at the last check (Kubernetes {version}, {date}), "
        "{failed} of {total} {examples} failed",
        "failed_skipped": " and {skipped} did not run",
        "title": "Examples run on a real cluster by the project's doctest",
    },
}


def _plural_fr(n: int, one: str, many: str) -> str:
    return one if n <= 1 else many


def format_note(page: PageReport, locale: str) -> tuple[str, str] | None:
    """(kind, text) of the note for one report page entry, or None."""
    texts = TEXTS.get(locale)
    counts = page.counts
    total, passed, failed, skipped = counts.examples, counts.passed, counts.failed, counts.skipped
    version = page.server_version
    if texts is None or not total or not version:
        return None
    try:
        day = datetime.datetime.fromisoformat(page.date).date()
    except ValueError:
        return None
    date = day.strftime("%d/%m/%Y") if locale == "fr" else day.isoformat()
    if failed:
        text = texts["failed"].format(
            version=version,
            date=date,
            failed=failed,
            total=total,
            examples=_plural_fr(failed, "exemple", "exemples") if locale == "fr" else "examples",
            failed_word=_plural_fr(failed, "a échoué", "ont échoué"),
        )
        if skipped:
            text += texts["failed_skipped"].format(
                skipped=skipped,
                not_run=_plural_fr(skipped, "n'a pas été exécuté", "n'ont pas été exécutés"),
            )
        return "failed", text + "."
    if page.result != "passed" or not passed:
        return None
    text = texts["ok"].format(
        passed=passed,
        total=total,
        version=version,
        date=date,
        examples=_plural_fr(passed, "exemple", "exemples")
        if locale == "fr"
        else ("example" if total == 1 else "examples"),
        verified=_plural_fr(passed, "vérifié", "vérifiés"),
    )
    if skipped:
        text += texts["skipped"].format(
            skipped=skipped, run=_plural_fr(skipped, "exécuté", "exécutés")
        )
    return "ok", text


def inputs_unchanged(page: PageReport, root: Path) -> bool:
    inputs = page.inputs
    if not inputs:
        return False
    for rel, digest in inputs.items():
        try:
            if hashlib.sha256((root / rel).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True


def command_blocks(text: str) -> list[str]:
    """The bodies of the blocks the doctest runs, as written (for translation parity)."""
    return ["\n".join(f.body) for f in fences(text.split("\n")) if f.run_kind is not None]


def note_for(
    source: Path, locale: str, report: Report | None, root: Path
) -> tuple[str, str] | None:
    """The note for the page whose source file is `source`, or None."""
    if report is None:
        return None
    try:
        rel = source.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    parts = rel.parts
    if len(parts) < 3 or parts[0] != "docs":
        return None
    fr_rel = Path("docs", SOURCE_LOCALE, *parts[2:])
    page = report.pages.get(str(fr_rel))
    if not page or not inputs_unchanged(page, root):
        return None
    if parts[1] != SOURCE_LOCALE:
        try:
            same = command_blocks(source.read_text(encoding="utf-8")) == command_blocks(
                (root / fr_rel).read_text(encoding="utf-8")
            )
        except OSError:
            return None
        if not same:
            return None
    return format_note(page, locale)


def render(kind: str, text: str, locale: str) -> str:
    title = TEXTS.get(locale, TEXTS["en"])["title"]
    mark = "✓ " if kind == "ok" else "⚠ "
    return (
        f'<p class="doctest-note doctest-note--{kind}" title="{html.escape(title)}">'
        f"<small>{mark}{html.escape(text)}</small></p>"
    )


# -- MkDocs events -------------------------------------------------------------------------


def on_config(config: Any) -> Any:
    global _report, _root
    _root = Path(config.config_file_path).resolve().parent
    # No report, another schema or a damaged one: no note anywhere.
    _report = Report.load(_root / REPORT)
    return config


def on_page_content(html_text: str, page: Any, config: Any, **_: Any) -> str:
    source = getattr(page.file, "abs_src_path", None)
    if not source:
        return html_text
    locale = str(config.theme.get("language") or SOURCE_LOCALE)
    note = note_for(Path(source), locale, _report, _root)
    if note is None:
        return html_text
    block = render(*note, locale)
    head = html_text.find("</h1>")
    if head == -1:
        return block + "\n" + html_text
    head += len("</h1>")
    return html_text[:head] + "\n" + block + html_text[head:]
