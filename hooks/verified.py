"""MkDocs hook: a discreet "verified" note on each page the doctest report covers.

Reads `reports/doctest.json` (written by `nox -s doctest`, through the schema of
`tools/doctest/report.py`) and, under the page title, says how many of the page's examples
ran successfully, when, and on which cluster (provider, Kubernetes version, network plugin,
number of nodes: the report has them from the cluster contract): "12 exemples sur 12
vérifiés le 26/11/2026 sur MicroK8s (Kubernetes v1.37.2, réseau Calico, 3 nœuds)", in the
words of the locale's config (`extra.i18n`). A page whose examples failed gets a warning
admonition instead.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

# MkDocs loads hooks by file path: make the project's packages importable.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tools.doctest.report import SCHEMA, PageReport, Report  # noqa: E402
from tools.i18n.strings import format_text  # noqa: E402
from tools.markdown import fences  # noqa: E402

__all__ = ["SCHEMA", "format_note", "note_for", "on_config", "on_page_content"]

REPORT = Path("reports") / "doctest.json"
SOURCE_LOCALE = "fr"

_report: Report | None = None
_root: Path = Path()

Texts = Mapping[str, Any]  # the locale's `extra.i18n` (see tools/i18n/strings.py)


def _text(texts: Texts, key: str) -> str:
    value = texts.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PluginError(f"verified note: extra.i18n of this locale has no {key}")
    return value


# Network plugins as their projects write them (the report has the lower-case id).
PLUGIN_NAMES = {"calico": "Calico", "cilium": "Cilium", "flannel": "Flannel"}


def describe_cluster(page: PageReport, texts: Texts) -> str:
    """The cluster the page ran on, in the locale's words: provider, Kubernetes version,
    network plugin and number of nodes, as the report has them from the cluster contract;
    what the report does not know is left out, never guessed."""
    plural_one = list(texts.get("plural_one") or [1])
    kind = page.provider or "existing"  # an old report without a provider
    key = f"verified_provider_{kind}"
    provider = format_text(
        _text(texts, key if key in texts else "verified_provider_other"), plural_one, name=kind
    )
    plugin = page.network_plugin if page.network_plugin not in ("", "unknown") else ""
    return format_text(
        _text(texts, "verified_cluster"),
        plural_one,
        provider=provider,
        version=page.server_version,
        plugin=format_text(
            _text(texts, "verified_plugin"), plural_one, plugin=PLUGIN_NAMES.get(plugin, plugin)
        )
        if plugin
        else "",
        nodes=format_text(_text(texts, "verified_nodes"), plural_one, nodes=page.nodes)
        if page.nodes > 0
        else "",
    )


def format_note(page: PageReport, texts: Texts) -> tuple[str, str] | None:
    """(kind, text) of the note for one report page entry, in the locale of `texts`."""
    counts = page.counts
    total, passed, failed, skipped = counts.examples, counts.passed, counts.failed, counts.skipped
    version = page.server_version
    if not total or not version:
        return None
    try:
        day = datetime.datetime.fromisoformat(page.date).date()
    except ValueError:
        return None
    plural_one = list(texts.get("plural_one") or [1])
    values = {
        "version": version,
        "date": day.strftime(_text(texts, "date_format")),
        "cluster": describe_cluster(page, texts),
        "total": total,
        "passed": passed,
        "failed": failed,
        "skipped": skipped,
    }

    def say(key: str) -> str:
        return format_text(_text(texts, key), plural_one, **values)

    if failed:
        return "failed", say("verified_failed") + (
            say("verified_failed_skipped") if skipped else ""
        ) + "."
    if page.result != "passed" or not passed:
        return None
    return "ok", say("verified_ok") + (say("verified_skipped") if skipped else "")


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
    source: Path, texts: Texts, report: Report | None, root: Path
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
    return format_note(page, texts)


def render(kind: str, text: str, texts: Texts) -> str:
    """The note's HTML: a discreet line when every example ran well; when some failed, a
    warning admonition that readers cannot miss."""
    if kind == "failed":
        return (
            '<div class="admonition warning doctest-note doctest-note--failed">\n'
            f'<p class="admonition-title">{html.escape(_text(texts, "verified_failed_title"))}'
            f"</p>\n<p>{html.escape(text)}</p>\n</div>"
        )
    title = _text(texts, "verified_title")
    return (
        f'<p class="doctest-note doctest-note--{kind}" title="{html.escape(title)}">'
        f"<small>✓ {html.escape(text)}</small></p>"
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
    # The locale's own strings (hooks/i18n.py has checked that none is missing).
    texts = config.extra.get("i18n") or {}
    note = note_for(Path(source), texts, _report, _root)
    if note is None:
        return html_text
    block = render(*note, texts)
    head = html_text.find("</h1>")
    if head == -1:
        return block + "\n" + html_text
    head += len("</h1>")
    return html_text[:head] + "\n" + block + html_text[head:]
