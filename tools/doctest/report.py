"""`reports/doctest.json` and the terminal summary.

Schema (version 1):

    {"schema": "reseau-k8s/doctest-report", "schema_version": 1,
     "run": {provider, server_version, kubectl_version, capabilities, date, duration_s,
             totals: {pages, examples, run, passed, failed, skipped}, coverage},
     "pages": {"docs/fr/…md": {source, namespace, result, duration_s, exclusive,
               provider, server_version, date, inputs: {path: sha256},
               counts: {examples, run, passed, failed, skipped}, coverage,
               examples: [{source, file, line, page_line, kind, hidden, status, ran,
                           reason, duration_s, attempts, updated}],
               errors: [...], warnings: [...], updates: [...]}}}

`examples` counts what readers see; hidden setup/cleanup blocks are listed (hidden: true)
but not counted.  Coverage = examples run / examples.  Pages that a run did not select keep
their previous entry (each page entry carries its own provider, version and date), so a
`--pages` run does not erase what the site's "verified" note relies on.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "reseau-k8s/doctest-report"
SCHEMA_VERSION = 1
# The reason given to the examples of a page after its first failure (see page.py).
CASCADE = "not run: an earlier example failed"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class PageEntry:
    source: str
    examples: list[dict[str, Any]] = field(default_factory=list)
    namespace: str | None = None
    duration_s: float = 0.0
    exclusive: bool = False
    inputs: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    failed_items: int = 0

    def counts(self) -> dict[str, int]:
        visible = [e for e in self.examples if not e.get("hidden")]
        ran = [e for e in visible if e["status"] in ("passed", "failed")]
        return {
            "examples": len(visible),
            "run": len(ran),
            "passed": sum(e["status"] == "passed" for e in visible),
            "failed": sum(e["status"] == "failed" for e in visible),
            "skipped": sum(e["status"] == "skipped" for e in visible),
        }

    def result(self) -> str:
        c = self.counts()
        if self.failed_items or self.errors or any(e["status"] == "failed" for e in self.examples):
            return "failed"
        if c["run"] == 0 and c["examples"]:
            return "skipped"
        return "passed"


def coverage(counts: dict[str, int]) -> float | None:
    return round(counts["run"] / counts["examples"], 4) if counts["examples"] else None


def build(
    pages: dict[str, PageEntry], run: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    out_pages: dict[str, Any] = {}
    if previous and previous.get("schema_version") == SCHEMA_VERSION:
        out_pages.update(previous.get("pages", {}))
    totals = {"pages": 0, "examples": 0, "run": 0, "passed": 0, "failed": 0, "skipped": 0}
    for key, entry in sorted(pages.items()):
        counts = entry.counts()
        out_pages[key] = {
            "source": entry.source,
            "namespace": entry.namespace,
            "result": entry.result(),
            "duration_s": round(entry.duration_s, 3),
            "exclusive": entry.exclusive,
            "provider": run["provider"],
            "server_version": run["server_version"],
            "date": run["date"],
            "inputs": entry.inputs,
            "counts": counts,
            "coverage": coverage(counts),
            "examples": entry.examples,
            "errors": entry.errors,
            "warnings": entry.warnings,
            "updates": entry.updates,
        }
        totals["pages"] += 1
        for k in ("examples", "run", "passed", "failed", "skipped"):
            totals[k] += counts[k]
    run = dict(run, totals=totals, coverage=coverage(totals))
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "pages": dict(sorted(out_pages.items())),
    }


def write(path: Path, pages: dict[str, PageEntry], run: dict[str, Any]) -> dict[str, Any]:
    previous = None
    if path.exists():
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            previous = None
    data = build(pages, run, previous)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return data


def summary_lines(pages: dict[str, PageEntry], run: dict[str, Any]) -> list[str]:
    """The terminal table: one line per page, then the totals and what was skipped."""
    head = (
        f"{'page':<58} {'examples':>8} {'run':>4} {'passed':>6} {'failed':>6} "
        f"{'skipped':>7} {'coverage':>8} {'time':>7}"
    )
    lines = [
        f"provider {run['provider']}, Kubernetes {run['server_version'] or '-'}, "
        f"kubectl {run['kubectl_version'] or '-'}",
        head,
    ]
    totals = {"examples": 0, "run": 0, "passed": 0, "failed": 0, "skipped": 0}
    duration = 0.0
    for key, entry in sorted(pages.items()):
        c = entry.counts()
        for k in totals:
            totals[k] += c[k]
        duration += entry.duration_s
        name = key.removeprefix("docs/fr/")
        name = name if len(name) <= 58 else "…" + name[-57:]
        lines.append(_row(name, c, entry.duration_s, entry.result()))
    lines.append(_row("total", totals, duration, ""))
    skipped: list[str] = []
    for key, entry in sorted(pages.items()):
        cascade = [e for e in entry.examples if e["reason"].startswith(CASCADE)]
        skipped += [
            f"  {e['source']}: {e['reason']}"
            for e in entry.examples
            if e["status"] == "skipped" and not e.get("hidden") and e not in cascade
        ]
        if cascade:
            after = cascade[0]["reason"].removeprefix(CASCADE).strip(" ()")
            skipped.append(f"  {key}: {len(cascade)} more not run after the failure ({after})")
    if skipped:
        lines.append("skipped examples:")
        lines += skipped
    notes = [n for _, e in sorted(pages.items()) for n in e.updates + e.warnings]
    if notes:
        lines.append("notes:")
        lines += [f"  {n}" for n in notes]
    return lines


def _row(name: str, c: dict[str, int], seconds: float, result: str) -> str:
    cov = coverage(c)
    cov_text = f"{cov * 100:.0f} %" if cov is not None else "-"
    mark = " FAILED" if result == "failed" else ""
    return (
        f"{name:<58} {c['examples']:>8} {c['run']:>4} {c['passed']:>6} {c['failed']:>6} "
        f"{c['skipped']:>7} {cov_text:>8} {seconds:>6.1f}s{mark}"
    )
