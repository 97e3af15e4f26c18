"""A doctest run killed outright (SIGKILL: no cleanup at all) mid-page: the next run puts back
what the page changed outside its namespace (from the journal on the page's namespace),
deletes what it created, and then runs the page without an AlreadyExists.  A namespace that
a page creates, left by hand with no journal, is recognised by its name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.kube import Kube
from tests.unit.doctest.project import REPO, make_project
from tools.doctest.shell import descendants

pytestmark = pytest.mark.cluster

LABEL = "reseau-k8s-test-leftover"
PAGE = f"""\
# Restes

```bash
microk8s kubectl create namespace labo-reste
microk8s kubectl label namespace kube-public {LABEL}=oui
touch "$MARK"
[ -e "$GO_ON" ] || sleep 600
```

Nettoyage :

```bash
microk8s kubectl delete namespace labo-reste --wait=false
microk8s kubectl label namespace kube-public {LABEL}-
```
"""


def _command() -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-p", "no:doctest", "-p", "tools.doctest.plugin",
        "-p", "no:cacheprovider", "--cluster=local", "-q",
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _labels(kube: Kube) -> dict[str, str]:
    return kube.json("get", "namespace", "kube-public")["metadata"].get("labels") or {}


def _exists(kube: Kube, name: str) -> bool:
    return bool(kube.run("get", "namespace", name, "--ignore-not-found", "-o", "name").strip())


def test_a_killed_run_is_cleaned_up_by_the_next(kube: Kube, tmp_path: Path) -> None:
    mark, go_on = tmp_path / "mark", tmp_path / "go-on"
    page = PAGE.replace('"$MARK"', str(mark)).replace('"$GO_ON"', str(go_on))
    root = make_project(tmp_path / "p", {"restes.md": page})
    run = subprocess.Popen(
        _command(), cwd=root, env=_env(), stdout=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 180
    while not mark.exists():
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    # As if the machine had died: the run and the page's shell, by PID, without warning.
    for pid in [run.pid, *descendants(run.pid)]:
        os.kill(pid, signal.SIGKILL)
    run.wait()
    assert _exists(kube, "labo-reste") and _exists(kube, "doctest-restes")
    assert _labels(kube).get(LABEL) == "oui"

    go_on.touch()
    again = subprocess.run(
        _command(), cwd=root, env=_env(), capture_output=True, text=True, timeout=600
    )
    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    assert (
        "leftovers of an interrupted run of docs/fr/restes.md: restored Namespace kube-public, "
        "deleted Namespace labo-reste" in output
    ), output
    assert "deleted the namespace of an interrupted run: doctest-restes" in output
    assert "AlreadyExists" not in output
    assert LABEL not in _labels(kube)


def test_a_namespace_a_page_creates_is_known_by_its_name(kube: Kube, tmp_path: Path) -> None:
    go_on = tmp_path / "go-on"
    go_on.touch()
    page = PAGE.replace('"$MARK"', str(tmp_path / "mark")).replace('"$GO_ON"', str(go_on))
    root = make_project(tmp_path / "p", {"restes.md": page})
    # (The page's own cleanup, in the test above, may still be deleting it.)
    kube.wait_for("labo-reste to be gone", lambda: not _exists(kube, "labo-reste"), 120)
    kube.run("create", "namespace", "labo-reste")  # by hand: no journal anywhere
    result = subprocess.run(
        _command(), cwd=root, env=_env(), capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "deleted namespace labo-reste, left by an earlier run of docs/fr/restes.md" in output
