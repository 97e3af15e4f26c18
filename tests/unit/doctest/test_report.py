"""The JSON report: counts, coverage, and merging with an earlier run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tools.doctest.report import ExampleResult, PageEntry, RunInfo, summary_lines, write

RUN = RunInfo(
    provider="local",
    server_version="v1.37.2",
    kubectl_version="v1.37.1",
    capabilities=("node-shell",),
    date="2026-11-26T18:00:00+00:00",
    duration_s=12.0,
)


def example(status: str, hidden: bool = False, line: int = 1) -> ExampleResult:
    return ExampleResult(source=f"docs/fr/a.md:{line}", status=status, hidden=hidden)


def test_counts_exclude_hidden_blocks_and_coverage_is_run_over_examples(tmp_path: Path) -> None:
    entry = PageEntry(
        source="docs/fr/a.md",
        examples=[
            example("passed"),
            example("failed"),
            example("skipped"),
            example("skipped"),
            example("passed", hidden=True),
        ],
    )
    data = write(tmp_path / "r.json", {"docs/fr/a.md": entry}, RUN)
    page = data["pages"]["docs/fr/a.md"]
    assert page["counts"] == {"examples": 4, "run": 2, "passed": 1, "failed": 1, "skipped": 2}
    assert page["coverage"] == 0.5
    assert page["result"] == "failed"
    assert data["run"]["totals"]["examples"] == 4 and data["run"]["coverage"] == 0.5
    assert json.loads((tmp_path / "r.json").read_text()) == data


def test_results() -> None:
    assert PageEntry("p", [example("passed")]).result() == "passed"
    assert PageEntry("p", [example("skipped")]).result() == "skipped"
    assert PageEntry("p", [example("passed")], errors=["leak"]).result() == "failed"
    assert PageEntry("p", [example("passed", hidden=True)]).result() == "passed"
    assert PageEntry("p", [example("failed", hidden=True)]).result() == "failed"


def test_a_partial_run_keeps_the_other_pages(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write(path, {"docs/fr/a.md": PageEntry("docs/fr/a.md", [example("passed")])}, RUN)
    later = dataclasses.replace(RUN, date="2026-11-27T09:00:00+00:00")
    data = write(path, {"docs/fr/b.md": PageEntry("docs/fr/b.md", [example("failed")])}, later)
    assert list(data["pages"]) == ["docs/fr/a.md", "docs/fr/b.md"]
    assert data["pages"]["docs/fr/a.md"]["date"] == RUN.date  # each page keeps its own run
    assert data["pages"]["docs/fr/b.md"]["date"] == later.date
    assert data["run"]["totals"]["pages"] == 1  # the totals describe this run


def test_an_unreadable_previous_report_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{not json")
    data = write(path, {}, RUN)
    assert data["pages"] == {}


def test_summary_table() -> None:
    entry = PageEntry(
        "docs/fr/07/a.md",
        [
            example("passed"),
            dataclasses.replace(example("skipped", line=9), reason="requires microk8s"),
        ],
    )
    lines = summary_lines({"docs/fr/07/a.md": entry}, RUN)
    assert lines[0] == "provider local, Kubernetes v1.37.2, kubectl v1.37.1"
    assert lines[2].startswith("07/a.md") and "50 %" in lines[2]
    assert lines[3].startswith("total")
    assert lines[-1] == "  docs/fr/a.md:9: requires microk8s"


def test_skips_after_a_failure_are_one_line_per_page() -> None:
    reason = "not run: an earlier example failed (docs/fr/a.md:3)"
    entry = PageEntry(
        "docs/fr/a.md",
        [example("failed", line=3)]
        + [dataclasses.replace(example("skipped", line=n), reason=reason) for n in (5, 9)],
    )
    lines = summary_lines({"docs/fr/a.md": entry}, RUN)
    assert lines[-2:] == [
        "skipped examples:",
        "  docs/fr/a.md: 2 more not run after the failure (docs/fr/a.md:3)",
    ]
