"""`nox -s doctest -- --bench [options]`: the doctest twice in one go, one page at a time
(`--jobs 1`) and then pages at the same time (`--jobs auto`), on the same cluster; prints
both wall times and their ratio.

Each run writes its own report (reports/bench-serial.json, reports/bench-parallel.json):
reports/doctest.json, which the site reads, is left as it was.  Other options (`--pages`,
`--cluster`, `--keep-going`…) go to both runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RUNS = (("serial", "1"), ("parallel", "auto"))


def _command(args: list[str], jobs: str, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-p", "no:doctest", "-p", "tools.doctest.plugin",
        "docs/fr", "-q", *args, "--jobs", jobs, "--doctest-report", str(report),
    ]  # fmt: skip


def _summary(report: Path) -> dict[str, Any]:
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return {}
    run = data.get("run") or {}
    return {**(run.get("totals") or {}), **run}


def main(argv: list[str]) -> int:
    if any(a == "--jobs" or a.startswith("--jobs=") for a in argv):
        print("--bench runs --jobs 1 then --jobs auto itself: leave --jobs out", file=sys.stderr)
        return 2
    root = Path.cwd()  # the project (nox runs from its root)
    rows = []
    codes = []
    for label, jobs in RUNS:
        report = root / "reports" / f"bench-{label}.json"
        report.unlink(missing_ok=True)
        print(f"== doctest, {label} (--jobs {jobs})", flush=True)
        t = time.monotonic()
        code = subprocess.run(_command(argv, jobs, report), cwd=root, check=False).returncode
        wall = time.monotonic() - t
        codes.append(code)
        rows.append((label, wall, _summary(report)))
    print("\n== doctest bench")
    print(f"{'run':<10} {'wall':>8} {'pages':>8} {'jobs':>5} {'passed':>7} {'failed':>7}")
    for label, wall, s in rows:
        print(
            f"{label:<10} {wall:>7.1f}s {s.get('pages_s', 0):>7.1f}s {s.get('jobs', '-'):>5} "
            f"{s.get('passed', '-'):>7} {s.get('failed', '-'):>7}"
        )
    serial, parallel = rows[0][1], rows[1][1]
    print(f"parallel / serial: {parallel / serial:.2f} ({serial / parallel:.2f}x faster)")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
