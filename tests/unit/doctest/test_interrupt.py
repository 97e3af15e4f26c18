"""Ctrl-C and SIGTERM during a run (no cluster): the running example stops at once, the
started page's cleanup blocks run in its own shell, a second Ctrl-C aborts the cleanup and
says what is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.doctest.project import REPO, make_project

LONG = """\
# Longue

<!-- doctest: setup
```bash
ETAT=depuis-setup
```
-->

```bash
touch "$STARTED"
sleep 60
```

```bash
echo jamais
```

<!-- doctest: cleanup
```bash
echo "$ETAT nettoyé" > "$MARK"
```
-->
"""

SLOW_CLEANUP = """\
# Nettoyage lent

```bash
touch "$STARTED"
sleep 60
```

<!-- doctest: cleanup
```bash
touch "$CLEANING"
sleep 60
```
-->

<!-- doctest: cleanup
```bash
echo never > "$MARK"
```
-->
"""


def _as_in_a_terminal() -> None:
    # A command started in the background by a script inherits an ignored SIGINT (and Python
    # then keeps ignoring it): a terminal's foreground command does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(root: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.Popen(
        [
            sys.executable, "-m", "pytest", "-p", "no:doctest", "-p", "tools.doctest.plugin",
            "-p", "no:cacheprovider", "--cluster=none",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the "terminal" Ctrl-C reaches
        preexec_fn=_as_in_a_terminal,
    )  # fmt: skip


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _page(text: str, tmp: Path) -> str:
    for name, file in (("STARTED", "started"), ("CLEANING", "cleaning"), ("MARK", "mark")):
        text = text.replace(f'"${name}"', str(tmp / file))
    return text


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-the-terminal", "sigterm-to-pytest"],
)
def test_an_interrupted_page_runs_its_cleanup_in_its_shell(
    tmp_path: Path, sig: signal.Signals, group: bool
) -> None:
    root = make_project(tmp_path / "p", {"longue.md": _page(LONG, tmp_path)})
    proc = _start(root)
    _wait_for(tmp_path / "started", proc)
    t = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)  # Ctrl-C: every process of the terminal's foreground group
    else:
        proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert time.monotonic() - t < 15, output
    assert proc.returncode == 2, output  # pytest's "interrupted"
    # The cleanup block ran, in the page's own shell (the setup's variable is there).
    assert (tmp_path / "mark").read_text() == "depuis-setup nettoyé\n", output
    assert "FileNotFoundError" not in output and "at teardown" not in output, output
    report = json.loads((root / "reports/doctest.json").read_text())
    page = report["pages"]["docs/fr/longue.md"]
    (stopped,) = [e for e in page["examples"] if e["page_line"] == 9]
    assert stopped["status"] == "failed"
    assert f"interrupted by {sig.name}" in stopped["reason"]
    cleanup = [e for e in page["examples"] if e["kind"] == "cleanup"]
    assert [e["status"] for e in cleanup] == ["passed"]


def test_a_second_ctrl_c_aborts_the_cleanup_and_says_what_is_left(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"lent.md": _page(SLOW_CLEANUP, tmp_path)})
    proc = _start(root)
    _wait_for(tmp_path / "started", proc)
    os.killpg(proc.pid, signal.SIGINT)
    _wait_for(tmp_path / "cleaning", proc)
    t = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert time.monotonic() - t < 10, output
    assert proc.returncode == 2, output
    assert not (tmp_path / "mark").exists()
    assert "doctest: docs/fr/lent.md: cleanup aborted; left on the cluster:" in output
    assert "cleanup block stopped mid-way: docs/fr/lent.md:9" in output
    assert "cleanup block not run: docs/fr/lent.md:16" in output


def test_ctrl_c_with_pages_at_the_same_time_cleans_up_each_of_them(tmp_path: Path) -> None:
    pages = {}
    for name in ("un", "deux"):
        (tmp_path / name).mkdir()
        pages[f"{name}.md"] = _page(LONG, tmp_path / name)
    root = make_project(tmp_path / "p", pages)
    proc = _start(root)
    _wait_for(tmp_path / "un" / "started", proc)
    _wait_for(tmp_path / "deux" / "started", proc)  # both at once
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, output
    for name in ("un", "deux"):
        assert (tmp_path / name / "mark").read_text() == "depuis-setup nettoyé\n", output
    assert "FileNotFoundError" not in output and "at teardown" not in output, output
