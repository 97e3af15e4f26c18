"""`status` and `up` on a cluster with a dead component (no cluster: stand-in processes)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.cluster import __main__ as cli
from tools.cluster.local import lifecycle, state, supervisor
from tools.cluster.local.settings import Layout

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[Layout]:
    layout = Layout(tmp_path / "state")
    state.create_root(layout)
    yield layout
    supervisor.stop_all(supervisor.records(layout), timeout=2)


def _kill(layout: Layout, name: str) -> None:
    (record,) = [r for r in supervisor.records(layout) if r.name == name]
    os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while supervisor.is_same_process(record) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_exit_status_says_what_is_down() -> None:
    assert lifecycle.Health(exists=False).code == 3  # no cluster at all
    assert lifecycle.Health(exists=True, dead=["kubelet"]).code == 1
    assert lifecycle.Health(exists=True, answered=False).code == 1


def test_the_message_says_what_is_wrong() -> None:
    # It used to say "does not answer" even when the API server had answered.
    dead = lifecycle.Health(exists=True, dead=["kubelet"], answered=True)
    assert dead.problem() == "is missing kubelet"
    assert "does not answer" not in dead.problem()
    mute = lifecycle.Health(exists=True, answered=False)
    assert mute.problem() == "does not answer (its API server is not ready)"


def test_a_dead_component_is_found_and_started_again_alone(layout: Layout) -> None:
    sup = supervisor.Supervisor(layout)
    sup.start("kube-proxy", SLEEPER)
    sup.start("kubelet", SLEEPER, env=dict(os.environ, RESEAU_K8S_TEST_VAR="x"))
    proxy = supervisor.running(layout)["kube-proxy"]
    _kill(layout, "kubelet")

    health = lifecycle.check(layout, patience=0)
    assert (health.exists, health.dead, health.code) == (True, ["kubelet"], 1)
    assert supervisor.restartable(layout, "kubelet")
    lines = lifecycle.status_lines(layout, health)
    assert lines[0].startswith("local cluster: NOT healthy: it is missing kubelet")
    assert any("kubelet" in line and "NOT RUNNING" in line for line in lines)

    supervisor.Supervisor(layout).restart("kubelet")
    running = supervisor.running(layout)
    assert set(running) == {"kube-proxy", "kubelet"}
    assert running["kube-proxy"] == proxy  # the others are left alone
    environ = Path(f"/proc/{running['kubelet']}/environ").read_bytes().split(b"\0")
    assert b"RESEAU_K8S_TEST_VAR=x" in environ


def test_status_exit_status_reaches_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "status", lambda: ("local cluster: NOT healthy", 1))
    assert cli.main(["status"]) == 1
    monkeypatch.setattr(lifecycle, "status", lambda: ("local cluster: not running", 3))
    assert cli.main(["status"]) == 3
