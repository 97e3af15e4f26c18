"""The whole harness on fixture pages with plain shell commands (no cluster).

One doctest run (a pytest subprocess, `--cluster=none`) over a set of pages, each made to
pass or to fail in one precise way; the assertions read its JSON report and its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.doctest.project import REPO, Run, make_project, run_doctest

# Line numbers matter below: they are the *source* lines the harness must report.
STATE = """\
# État, attributs, blocs cachés

<!-- doctest: page vary=age -->

<!-- doctest: setup
```bash
HIDDEN=from-setup
```
-->

```bash title="premier.sh"
X=42
mkdir -p sub
cd sub
```

``` { .console .annotate }
$ echo "x=$X hidden=$HIDDEN dir=$(basename "$PWD")"
x=42 hidden=from-setup dir=sub
```

!!! note "Dans une admonition"
    ```bash
    echo "indenté" > ../note.txt && cd ..
    ```

=== "Onglet"

    ```console
    $ cat note.txt
    indenté
    ```

<!-- doctest: vary=ip,hash -->
```console
$ printf 'web-7d4b9c8f5d-x2k9p   1/1   Running   0   12s   10.1.0.17\\n'
web-5f6d7c8b9b-qwrtz 1/1 Running 0 3m 10.1.3.5
```

```console
$ seq 1 10
1
...
10
```

<!-- doctest: retry=20 -->
```bash
n=$(cat count.txt 2>/dev/null || echo 0); n=$((n+1))
echo $n > count.txt
[ "$n" -ge 3 ]
```

<!-- doctest: skip reason="montre une commande interactive" -->
```bash
read -r answer
```

<!-- doctest: requires=microk8s reason="addon MicroK8s" -->
```bash
microk8s enable dns
```

<!-- doctest: requires=node-shell -->
```bash
ip link show lo > /dev/null
```

Le fichier affiché ci-dessous est enregistré sous `pod.yaml` :

```yaml
--8<-- "x/pod.yaml"
```

```console
$ cat pod.yaml
kind: Pod
$ microk8s status 2>&1 | cut -c1-58
microk8s status: requires the microk8s provider (this run:
$ sudo echo root
root
$ echo "$DOCTEST_NAMESPACE"
default
```

<!-- doctest: cleanup
```bash
echo cleaned > "$CLEANUP_MARK"
```
-->
"""

FAILING = """\
# Échec

```bash
echo one
ls /nonexistent-for-doctest
echo never
```

```bash
echo skipped-after-failure
```

<!-- doctest: cleanup
```bash
echo cleaned-after-failure > "$CLEANUP_MARK"
```
-->
"""

MISMATCH = """\
# Sortie différente

```console
$ printf 'NAME READY\\nweb 0/1\\n'
NAME   READY
web    1/1
```

```console
$ echo first
first
$ echo second
third
```
"""

TIMEOUT = """\
# Trop long

<!-- doctest: timeout=1 -->
```bash
sleep 30
```
"""

RETRY_FAIL = """\
# Jamais prêt

<!-- doctest: retry=2 -->
```bash
false
```
"""

MALFORMED = """\
# Directive fausse

<!-- doctest: timeout=5 bogus=1 -->
```bash
echo never
```
"""

SNIPPET_FAIL = """\
# Script inclus

```bash
--8<-- "x/fail.sh"
```
"""

MACRO_LINES = """\
---
render_macros: true
---
# {{ greeting }}

{{ two_lines }}

```bash
{{ kubectl }} version --client > /dev/null
false
```
"""

DUPLICATE = """\
# Deux pod.yaml

```yaml
--8<-- "x/pod.yaml"
```

```yaml
--8<-- "y/pod.yaml"
```
"""

EXCLUSIVE = """\
# Page exclusive

<!-- doctest: page exclusive reason="change l'état du cluster" -->

```bash
true
```
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("project")
    mark = root / "cleanup-mark"
    pages = {
        "state.md": STATE.replace('"$CLEANUP_MARK"', str(mark)),
        "failing.md": FAILING.replace('"$CLEANUP_MARK"', str(mark) + "-failing"),
        "mismatch.md": MISMATCH,
        "timeout.md": TIMEOUT,
        "retry_fail.md": RETRY_FAIL,
        "malformed.md": MALFORMED,
        "snippet_fail.md": SNIPPET_FAIL,
        "macro_lines.md": MACRO_LINES,
        "duplicate.md": DUPLICATE,
        "exclusive.md": EXCLUSIVE,
    }
    snippets = {
        "x/pod.yaml": "kind: Pod\n",
        "y/pod.yaml": "kind: Service\n",
        "x/fail.sh": "echo from-snippet\nfalse\necho never\n",
    }
    make_project(root, pages, snippets)
    result = run_doctest(root, "--capabilities=node-shell")
    result.root = root  # type: ignore[attr-defined]
    return result


def test_the_run_fails_and_writes_a_report(run: Run) -> None:
    assert run.returncode == 1, run.output
    assert run.report["schema"] == "reseau-k8s/doctest-report"
    assert run.report["run"]["provider"] == "none"
    assert set(run.report["pages"]) == {
        f"docs/fr/{p}"
        for p in (
            "state.md", "failing.md", "mismatch.md", "timeout.md", "retry_fail.md",
            "malformed.md", "snippet_fail.md", "macro_lines.md", "duplicate.md", "exclusive.md",
        )
    }  # fmt: skip


def test_state_page_passes_with_everything_it_uses(run: Run) -> None:
    page = run.page("state.md")
    assert page["result"] == "passed", run.output
    assert page["namespace"] == "doctest-state"
    statuses = {e["page_line"]: e["status"] for e in page["examples"] if not e["hidden"]}
    assert statuses == {
        11: "passed",  # bash with title=, state set here…
        17: "passed",  # …and read in a {.console .annotate} block
        23: "passed",  # indented in an admonition
        29: "passed",  # indented in a content tab
        35: "passed",  # vary=ip,hash (+ page vary=age)
        40: "passed",  # ... elision
        48: "passed",  # retry until the third attempt
        55: "skipped",
        60: "skipped",
        65: "passed",  # requires=node-shell, granted by --capabilities
        75: "passed",  # snippet saved as pod.yaml, shims, namespace shown as default
    }  # the yaml block at line 71 is not an example
    assert run.example("state.md", 48)["attempts"] == 3
    assert run.example("state.md", 55)["reason"] == "skip: montre une commande interactive"
    assert run.example("state.md", 60)["reason"] == "requires microk8s: addon MicroK8s"
    assert page["counts"] == {"examples": 11, "run": 9, "passed": 9, "failed": 0, "skipped": 2}
    assert page["coverage"] == round(9 / 11, 4)
    hidden = [(e["kind"], e["status"]) for e in page["examples"] if e["hidden"]]
    assert sorted(hidden) == [("cleanup", "passed"), ("setup", "passed")]


def test_cleanup_blocks_run_at_the_end_even_after_a_failure(run: Run) -> None:
    root: Path = run.root  # type: ignore[attr-defined]
    assert (root / "cleanup-mark").read_text() == "cleaned\n"
    assert (root / "cleanup-mark-failing").read_text() == "cleaned-after-failure\n"


def test_failing_command_names_page_line_command_and_output(run: Run) -> None:
    e = run.example("failing.md", 3)
    assert e["status"] == "failed"
    assert e["reason"] == "docs/fr/failing.md:3: command failed with exit status 2"
    assert "at docs/fr/failing.md:5: ls /nonexistent-for-doctest" in run.output
    assert "  | one" in run.output and "never" not in run.output.split("failing.md:5")[1][:300]
    after = run.example("failing.md", 9)
    assert after["status"] == "skipped"
    assert after["reason"] == "not run: an earlier example failed (docs/fr/failing.md:3)"


def test_mismatch_prints_a_diff_with_file_and_line(run: Run) -> None:
    e = run.example("mismatch.md", 3)
    assert e["status"] == "failed"
    assert "--- expected (docs/fr/mismatch.md:5)" in run.output
    assert "-web    1/1" in run.output and "+web 0/1" in run.output
    assert " NAME   READY" in run.output  # matching lines are context, not differences


def test_mismatch_on_a_later_command_of_a_block(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"m.md": MISMATCH})
    result = run_doctest(root, "--keep-going")
    e = result.example("m.md", 9)
    assert e["status"] == "failed" and e["attempts"] == 2
    assert e["reason"] == "docs/fr/m.md:12: output of `echo second` does not match"


def test_timeout_names_page_line_and_duration(run: Run) -> None:
    e = run.example("timeout.md", 4)
    assert e["status"] == "failed"
    assert e["reason"] == "docs/fr/timeout.md:4: timeout after 1 s in page docs/fr/timeout.md"
    assert e["duration_s"] < 10
    # bash's "Killed" notice names the page line, not the harness's temporary file.
    assert "  | docs/fr/timeout.md:5: " in run.output and "Killed" in run.output
    assert "blocks/block-" not in run.output


def test_bounded_retry_gives_up(run: Run) -> None:
    e = run.example("retry_fail.md", 4)
    assert e["status"] == "failed" and e["attempts"] >= 2
    assert "(still failing after " in e["reason"] and "attempts in 2 s, retry=2)" in e["reason"]


def test_malformed_directive_is_an_error_naming_file_and_line(run: Run) -> None:
    page = run.page("malformed.md")
    assert page["result"] == "failed"
    assert page["errors"] == [
        "docs/fr/malformed.md:3: doctest directive: unknown key 'bogus'; known keys: cleanup, "
        "exclusive, page, reason, requires, retry, setup, skip, timeout, vary"
    ]
    assert "docs/fr/malformed.md:3: doctest directive: unknown key 'bogus'" in run.output
    e = run.example("malformed.md", 4)
    assert e["status"] == "skipped"
    assert e["reason"] == "page not run: doctest syntax error at docs/fr/malformed.md:3"


def test_failure_in_a_snippet_points_at_the_snippet_file(run: Run) -> None:
    assert run.example("snippet_fail.md", 3)["status"] == "failed"
    assert "at snippets/x/fail.sh:2 (included at docs/fr/snippet_fail.md:4): false" in run.output


def test_lines_map_through_macros(run: Run) -> None:
    # `{{ two_lines }}` renders as two lines: the failing `false` is still source line 10.
    e = run.example("macro_lines.md", 8)
    assert e["status"] == "failed"
    assert "at docs/fr/macro_lines.md:10: false" in run.output


def test_two_snippets_saved_under_one_name_is_an_error(run: Run) -> None:
    (error,) = run.page("duplicate.md")["errors"]
    assert error.startswith(
        "docs/fr/duplicate.md:8: two included snippets are both saved as 'pod.yaml'"
    )


def test_exclusive_pages_are_marked(run: Run) -> None:
    assert run.page("exclusive.md")["exclusive"] is True
    assert run.page("state.md")["exclusive"] is False


def test_terminal_summary_shows_coverage(run: Run) -> None:
    assert "state.md" in run.output and "82 %" in run.output
    assert "report: reports/doctest.json" in run.output
    assert "docs/fr/state.md:60: requires microk8s: addon MicroK8s" in run.output
    # pytest's own skip summary points at the page line too.
    assert "SKIPPED [1] docs/fr/state.md:55: skip: montre une commande interactive" in run.output


UPDATE_PAGE = """\
# Mise à jour

<!-- doctest: vary=number -->
```console
$ printf 'a 1\\nb 2\\nc 3\\n'
a 7
b 9
$ echo unchanged
unchanged
$ echo no-expected-output-yet
```

```console
--8<-- "x/session.txt"
```
"""


def test_update_rewrites_expected_outputs_keeping_placeholders(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, {"upd.md": UPDATE_PAGE}, {"x/session.txt": "$ echo real\nwritten\n"}
    )
    first = run_doctest(root, "--update")
    text = (root / "docs/fr/upd.md").read_text()
    # Matching lines keep their sample values, the missing line is added, the missing
    # output is inserted; the snippet is left alone with a note.
    expected = (
        "a 7\nb 9\nc 3\n$ echo unchanged\nunchanged\n"
        "$ echo no-expected-output-yet\nno-expected-output-yet\n```"
    )
    assert expected in text
    assert (root / "snippets/x/session.txt").read_text() == "$ echo real\nwritten\n"
    assert (
        "--update refused: snippets/x/session.txt:2 (included at docs/fr/upd.md:14)" in first.output
    )
    assert "--update rewrote the expected output at docs/fr/upd.md:6" in first.output
    second = run_doctest(root, "--pages", "upd.md")
    assert second.example("upd.md", 4)["status"] == "passed"
    assert second.example("upd.md", 15)["status"] == "failed"  # the snippet still differs


def test_pages_option_selects_pages(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, {"a.md": "```bash\ntrue\n```\n", "b/c.md": "```bash\ntrue\n```\n"}
    )
    result = run_doctest(root, "--pages", "b/*")
    assert list(result.report["pages"]) == ["docs/fr/b/c.md"]
    assert result.returncode == 0
    # The file name alone selects a page in a folder, as the docs' `--pages '03-*'` does.
    result = run_doctest(root, "--pages", "c*")
    assert list(result.report["pages"]) == ["docs/fr/b/c.md"]


def test_cleanup_runs_when_the_run_stops_early(tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    page = FAILING.replace('"$CLEANUP_MARK"', str(mark))
    root = make_project(tmp_path / "p", {"a.md": page, "b.md": "```bash\ntrue\n```\n"})
    result = run_doctest(root, "-x")
    assert result.returncode == 1
    assert "stopping after 1 failures" in result.output
    assert mark.read_text() == "cleaned-after-failure\n"


def test_keep_going_runs_the_rest_of_the_page(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"a.md": FAILING.replace('"$CLEANUP_MARK"', "/dev/null")})
    result = run_doctest(root, "--keep-going")
    assert result.example("a.md", 3)["status"] == "failed"
    assert result.example("a.md", 9)["status"] == "passed"


def test_pages_run_under_xdist_with_the_controller_cluster(tmp_path: Path) -> None:
    # The workers get the controller's ClusterInfo and report back to it.
    pages = {
        "a.md": "# A\n\n```console\n$ echo hi\nhi\n```\n",
        "b.md": "# B\n\n```bash\ntrue\n```\n\n```console\n$ echo x\ny\n```\n",
    }
    result = run_doctest(make_project(tmp_path, pages), "-n", "2", "--dist", "loadfile")
    assert result.returncode == 1
    assert result.report["run"]["provider"] == "none"
    assert result.page("a.md")["result"] == "passed"
    assert result.page("b.md")["counts"] == {
        "examples": 2,
        "run": 2,
        "passed": 1,
        "failed": 1,
        "skipped": 0,
    }


def test_a_timeout_means_the_stated_time(tmp_path: Path) -> None:
    # A loop in a console block went on after its `sleep` was killed: timeout=2 took 4 s.
    page = "<!-- doctest: timeout=2 -->\n```console\n$ while true; do sleep 1; done\n```\n"
    root = make_project(tmp_path, {"t.md": page})
    result = run_doctest(root)
    e = result.example("t.md", 2)
    assert e["status"] == "failed" and e["reason"].startswith("docs/fr/t.md:3: timeout after 2 s")
    assert 2 <= e["duration_s"] < 2.5, e


def _timed_page(name: str, log: Path, exclusive: bool = False) -> str:
    head = '<!-- doctest: page exclusive reason="tout le cluster" -->\n\n' if exclusive else ""
    return (
        f"{head}```bash\necho {name} start $(date +%s.%N) >> {log}\nsleep 1\n"
        f"echo {name} end $(date +%s.%N) >> {log}\n```\n\n```console\n$ echo {name}\n{name}\n```\n"
    )


def test_pages_run_at_the_same_time_and_exclusive_pages_alone(tmp_path: Path) -> None:
    log = tmp_path / "times.log"
    pages = {
        "a.md": _timed_page("a", log),
        "b.md": _timed_page("b", log),
        "c.md": _timed_page("c", log, exclusive=True),
        "d.md": _timed_page("d", log),
    }
    root = make_project(tmp_path / "p", pages)
    result = run_doctest(root, "--jobs", "3")
    assert result.returncode == 0, result.output
    spans: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        name, _, at = line.split()
        spans.setdefault(name, []).append(float(at))
    overlap = lambda x, y: spans[x][0] < spans[y][1] and spans[y][0] < spans[x][1]  # noqa: E731
    assert overlap("a", "b") and overlap("b", "d") and overlap("a", "d")
    assert not any(overlap("c", other) for other in "abd")
    run = result.report["run"]
    assert run["jobs"] == 3
    assert run["pages_s"] > run["duration_s"] * 1.2, run  # overlapped
    # pytest's order, whatever the order in which pages finished.
    ids = [line.split(" ")[0] for line in result.output.splitlines() if line.startswith("docs/fr/")]
    assert ids == ["docs/fr/a.md", "docs/fr/b.md", "docs/fr/c.md", "docs/fr/d.md"], ids
    assert list(result.report["pages"]) == sorted(f"docs/fr/{p}" for p in pages)


def test_one_page_at_a_time_with_jobs_1(tmp_path: Path) -> None:
    log = tmp_path / "times.log"
    root = make_project(
        tmp_path / "p", {"a.md": _timed_page("a", log), "b.md": _timed_page("b", log)}
    )
    result = run_doctest(root, "--jobs", "1")
    assert result.returncode == 0 and result.report["run"]["jobs"] == 1
    starts_ends = [line.split()[:2] for line in log.read_text().splitlines()]
    assert starts_ends == [["a", "start"], ["a", "end"], ["b", "start"], ["b", "end"]]


def test_bench_runs_serial_then_parallel_and_prints_the_ratio(tmp_path: Path) -> None:
    log = tmp_path / "times.log"
    pages = {"a.md": _timed_page("a", log), "b.md": _timed_page("b", log)}
    root = make_project(tmp_path / "p", pages)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tools.doctest.bench", "--cluster=none", "-p", "no:cacheprovider"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {
        line.split()[0]: line.split()
        for line in proc.stdout.splitlines()
        if line.startswith(("serial ", "parallel ")) and "/" not in line
    }
    serial, parallel = (float(rows[k][1].rstrip("s")) for k in ("serial", "parallel"))
    assert rows["serial"][3] == "1" and rows["parallel"][3] == "2"
    assert parallel < serial
    ratio = float(proc.stdout.split("parallel / serial: ", 1)[1].split()[0])
    assert abs(ratio - parallel / serial) < 0.05
    assert json.loads((root / "reports/bench-serial.json").read_text())["run"]["jobs"] == 1


def test_stopping_early_stops_the_pages_that_run_beside(tmp_path: Path) -> None:
    # -x: the first failure ends the run; the page running beside it is stopped, and its
    # cleanup still runs, in its own shell.
    mark = tmp_path / "mark"
    slow = (
        "```bash\nVU=oui\nsleep 30\n```\n\n"
        f'<!-- doctest: cleanup\n```bash\necho "$VU" > {mark}\n```\n-->\n'
    )
    root = make_project(tmp_path / "p", {"a.md": "```bash\nfalse\n```\n", "b.md": slow})
    t = time.monotonic()
    result = run_doctest(root, "-x")
    assert time.monotonic() - t < 20, result.output
    assert result.returncode == 1
    assert mark.read_text() == "oui\n"
