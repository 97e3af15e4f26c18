"""`reports/doctest.json`: its one schema, written by the doctest and read by the site.

Schema (version 1):

    {"schema": "reseau-k8s/doctest-report", "schema_version": 1,
     "run": RunReport: {provider, server_version, network_plugin, nodes, kubectl_version,
            capabilities, date, duration_s (wall), pages_s (the sum of the pages' own times),
            jobs (pages at a time), totals: {pages, examples, run, passed, failed, skipped},
            coverage},
     "pages": {"docs/fr/…md": PageReport: {source, namespace, result, duration_s, harness_s
               (the harness's own part of it: lock, snapshots, namespace), start_s, end_s
               (seconds after the run's start), exclusive,
               provider, server_version, network_plugin, nodes, date, inputs: {path: sha256},
               counts: {examples, run, passed, failed, skipped}, coverage,
               examples: [ExampleResult: {source, file, line, page_line, kind, hidden,
                           status, ran, reason, duration_s, command_s, wait_s, attempts,
                           updated}],
               errors: [...], warnings: [...], updates: [...]}}}

`examples` counts what readers see; hidden setup/cleanup blocks are listed (hidden: true)
but not counted.  Coverage = examples run / examples.  Pages that a run did not select keep
their previous entry (each page entry carries its own cluster, version and date), so a
`--pages` run does not erase what the site's "verified" note relies on.  The dataclasses
below are that schema: the doctest writes them, `hooks/verified.py` reads them back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "reseau-k8s/doctest-report"
SCHEMA_VERSION = 1
# The reason given to the examples of a page after its first failure.
CASCADE = "not run: an earlier example failed"
STATUSES = ("passed", "failed", "skipped")


class ReportError(ValueError):
    """A report this code cannot read (another schema, or damaged); the message says why."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ExampleResult:
    """One example (or hidden block) of a page, as run."""

    source: str  # file:line (a snippet line says where it was included)
    file: str = ""
    line: int = 0
    page_line: int = 0
    kind: str = ""  # bash, console, setup or cleanup
    hidden: bool = False
    status: str  # passed / failed / skipped
    ran: bool = False
    reason: str = ""
    duration_s: float = 0.0  # wall time: command_s + wait_s
    command_s: float = 0.0  # its commands, as they last ran
    wait_s: float = 0.0  # attempts that did not pass yet, pauses between them, timeouts
    attempts: int = 0
    updated: bool = False


@dataclass(frozen=True)
class Counts:
    examples: int = 0
    run: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, examples: list[ExampleResult]) -> Counts:
        """What readers see: hidden blocks are left out."""
        visible = [e for e in examples if not e.hidden]
        return cls(
            examples=len(visible),
            run=sum(e.status in ("passed", "failed") for e in visible),
            passed=sum(e.status == "passed" for e in visible),
            failed=sum(e.status == "failed" for e in visible),
            skipped=sum(e.status == "skipped" for e in visible),
        )

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f: getattr(self, f) + getattr(other, f) for f in _COUNTS})

    @property
    def coverage(self) -> float | None:
        return round(self.run / self.examples, 4) if self.examples else None


_COUNTS = ("examples", "run", "passed", "failed", "skipped")


@dataclass(frozen=True, kw_only=True)
class Totals(Counts):
    pages: int = 0


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """The run: on which cluster, with which kubectl, when."""

    provider: str
    server_version: str
    network_plugin: str = ""
    nodes: int = 0
    kubectl_version: str = ""
    capabilities: tuple[str, ...] = ()
    date: str  # ISO 8601, UTC
    duration_s: float = 0.0  # wall time of the run
    pages_s: float = 0.0  # the sum of its pages' own times (more than duration_s in parallel)
    jobs: int = 1  # pages run at a time


@dataclass(frozen=True, kw_only=True)
class RunReport(RunInfo):
    totals: Totals = Totals()
    coverage: float | None = None


@dataclass(frozen=True, kw_only=True)
class PageReport:
    """One page as the report keeps it (until a later run of that page)."""

    source: str = ""
    namespace: str | None = None
    result: str  # passed / failed / skipped
    duration_s: float = 0.0
    harness_s: float = 0.0
    start_s: float = 0.0
    end_s: float = 0.0
    exclusive: bool = False
    provider: str = ""
    server_version: str
    network_plugin: str = ""
    nodes: int = 0
    date: str
    inputs: dict[str, str]  # file -> sha256: what the page was made of when it ran
    counts: Counts
    coverage: float | None = None
    examples: tuple[ExampleResult, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    updates: tuple[str, ...] = ()


@dataclass
class PageEntry:
    """A page while the run collects its results."""

    source: str
    examples: list[ExampleResult] = field(default_factory=list)
    namespace: str | None = None
    duration_s: float = 0.0
    harness_s: float = 0.0
    start_s: float = 0.0
    end_s: float = 0.0
    exclusive: bool = False
    inputs: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    failed_items: int = 0

    def counts(self) -> Counts:
        return Counts.of(self.examples)

    def result(self) -> str:
        c = self.counts()
        if self.failed_items or self.errors or any(e.status == "failed" for e in self.examples):
            return "failed"
        if c.run == 0 and c.examples:
            return "skipped"
        return "passed"

    def report(self, run: RunInfo) -> PageReport:
        counts = self.counts()
        return PageReport(
            source=self.source,
            namespace=self.namespace,
            result=self.result(),
            duration_s=round(self.duration_s, 3),
            harness_s=round(self.harness_s, 3),
            start_s=round(self.start_s, 3),
            end_s=round(self.end_s, 3),
            exclusive=self.exclusive,
            provider=run.provider,
            server_version=run.server_version,
            network_plugin=run.network_plugin,
            nodes=run.nodes,
            date=run.date,
            inputs=dict(self.inputs),
            counts=counts,
            coverage=counts.coverage,
            examples=tuple(self.examples),
            errors=tuple(self.errors),
            warnings=tuple(self.warnings),
            updates=tuple(self.updates),
        )


@dataclass(frozen=True)
class Report:
    run: RunReport | None
    pages: dict[str, PageReport]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "run": _plain(self.run),
            "pages": {key: _plain(page) for key, page in sorted(self.pages.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> Report:
        """The report in `data` (parsed JSON); ReportError if it is not this schema."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ReportError(f"not a {SCHEMA} report")
        if data.get("schema_version") != SCHEMA_VERSION:
            version = data.get("schema_version")
            raise ReportError(f"schema version {version!r}, not {SCHEMA_VERSION}")
        try:
            pages = {str(k): _page(v) for k, v in (data.get("pages") or {}).items()}
            run = data.get("run")
            return cls(run=_run(run) if run else None, pages=pages)
        except (TypeError, KeyError, ValueError) as exc:
            raise ReportError(f"damaged report: {type(exc).__name__}: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> Report | None:
        """The report at `path`; None when there is none or it cannot be read."""
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None


def _plain(value: Any) -> Any:
    """JSON data (lists, not tuples) of a dataclass, as it reads back."""
    return json.loads(json.dumps(dataclasses.asdict(value))) if value is not None else None


def _fields(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in data.items() if k in names}


def _counts(data: dict[str, Any]) -> Counts:
    return Counts(**{k: int(v) for k, v in _fields(Counts, data).items()})


def _page(data: dict[str, Any]) -> PageReport:
    values = _fields(PageReport, data)
    values["counts"] = _counts(data["counts"])
    values["inputs"] = {str(k): str(v) for k, v in (data.get("inputs") or {}).items()}
    values["examples"] = tuple(
        ExampleResult(**_fields(ExampleResult, e)) for e in data.get("examples") or ()
    )
    for key in ("errors", "warnings", "updates"):
        values[key] = tuple(data.get(key) or ())
    return PageReport(**values)


def _run(data: dict[str, Any]) -> RunReport:
    values = _fields(RunReport, data)
    totals = data.get("totals") or {}
    values["totals"] = Totals(**{k: int(v) for k, v in _fields(Totals, totals).items()})
    values["capabilities"] = tuple(data.get("capabilities") or ())
    return RunReport(**values)


def build(pages: dict[str, PageEntry], run: RunInfo, previous: Report | None) -> Report:
    """This run's pages over the previous report's (the pages this run did not select)."""
    out: dict[str, PageReport] = dict(previous.pages) if previous else {}
    totals = Counts()
    for key, entry in sorted(pages.items()):
        out[key] = entry.report(run)
        totals += out[key].counts
    run_report = RunReport(
        **{f.name: getattr(run, f.name) for f in dataclasses.fields(run)},
        totals=Totals(pages=len(pages), **dataclasses.asdict(totals)),
        coverage=totals.coverage,
    )
    return Report(run=run_report, pages=dict(sorted(out.items())))


def write(path: Path, pages: dict[str, PageEntry], run: RunInfo) -> dict[str, Any]:
    """Write the report (merged with the one already at `path`); returns its JSON."""
    data = build(pages, run, Report.load(path) if path.exists() else None).to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return data


def summary_lines(pages: dict[str, PageEntry], run: RunInfo) -> list[str]:
    """The terminal table: one line per page, then the totals and what was skipped."""
    head = (
        f"{'page':<58} {'examples':>8} {'run':>4} {'passed':>6} {'failed':>6} "
        f"{'skipped':>7} {'coverage':>8} {'time':>7}"
    )
    cluster = f"provider {run.provider}, Kubernetes {run.server_version or '-'}"
    if run.network_plugin:
        cluster += f", {run.nodes} node{'s' if run.nodes != 1 else ''}, {run.network_plugin}"
    lines = [f"{cluster}, kubectl {run.kubectl_version or '-'}", head]
    totals = Counts()
    duration = 0.0
    for key, entry in sorted(pages.items()):
        c = entry.counts()
        totals += c
        duration += entry.duration_s
        name = key.removeprefix("docs/fr/")
        name = name if len(name) <= 58 else "…" + name[-57:]
        lines.append(_row(name, c, entry.duration_s, entry.result()))
    lines.append(_row("total", totals, duration, ""))
    skipped: list[str] = []
    for key, entry in sorted(pages.items()):
        cascade = [e for e in entry.examples if e.reason.startswith(CASCADE)]
        skipped += [
            f"  {e.source}: {e.reason}"
            for e in entry.examples
            if e.status == "skipped" and not e.hidden and e not in cascade
        ]
        if cascade:
            after = cascade[0].reason.removeprefix(CASCADE).strip(" ()")
            skipped.append(f"  {key}: {len(cascade)} more not run after the failure ({after})")
    if skipped:
        lines.append("skipped examples:")
        lines += skipped
    notes = [n for _, e in sorted(pages.items()) for n in e.updates + e.warnings]
    if notes:
        lines.append("notes:")
        lines += [f"  {n}" for n in notes]
    return lines


def profile_lines(pages: dict[str, PageEntry], run: RunInfo, count: int = 10) -> list[str]:
    """Where the time went: wall time against the pages' own, and the slowest examples with
    their time split into their commands and the waiting (retries, timeouts)."""
    lines = []
    if run.duration_s:
        ratio = run.duration_s / run.pages_s if run.pages_s else 0.0
        lines.append(
            f"wall {run.duration_s:.1f} s for {run.pages_s:.1f} s of pages "
            f"({ratio:.0%}), {run.jobs} page{'s' if run.jobs != 1 else ''} at a time"
        )
    ran = sorted((e for e in pages.values() if e.duration_s), key=lambda e: (e.start_s, e.source))
    if ran:
        lines.append("pages (seconds after the start of the run):")
        lines += [
            f"  {e.start_s:>6.1f} → {e.end_s:>6.1f}  {e.duration_s:>6.1f}s  "
            f"{e.source.removeprefix('docs/fr/')}{' (exclusive)' if e.exclusive else ''}"
            for e in ran
        ]
    harness = sum(e.harness_s for e in pages.values())
    if harness:
        lines.append(
            f"harness's own part of the pages (locks, snapshots, namespaces): {harness:.1f} s"
        )
    examples = sorted(
        (e for entry in pages.values() for e in entry.examples if e.ran),
        key=lambda e: (-e.duration_s, e.source),
    )[:count]
    if examples:
        lines.append(f"the {len(examples)} slowest examples:")
        lines.append(f"  {'wall':>7} {'command':>8} {'waiting':>8} {'tries':>5}  example")
        lines += [
            f"  {e.duration_s:>6.1f}s {e.command_s:>7.1f}s {e.wait_s:>7.1f}s {e.attempts:>5}  "
            f"{e.source}{' (hidden ' + e.kind + ')' if e.hidden else ''}"
            for e in examples
        ]
    return lines


def _row(name: str, c: Counts, seconds: float, result: str) -> str:
    cov = c.coverage
    cov_text = f"{cov * 100:.0f} %" if cov is not None else "-"
    mark = " FAILED" if result == "failed" else ""
    return (
        f"{name:<58} {c.examples:>8} {c.run:>4} {c.passed:>6} {c.failed:>6} "
        f"{c.skipped:>7} {cov_text:>8} {seconds:>6.1f}s{mark}"
    )
