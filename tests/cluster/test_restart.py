"""A dead component: `status` says so (non-zero), `up` starts it again alone, the rest of the
cluster and its workloads stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.kube import Kube, pod
from tools.cluster.local import settings, supervisor
from tools.cluster.local.settings import Layout

pytestmark = pytest.mark.cluster

BUSYBOX = "docker.io/library/busybox:latest"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cluster", *args],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_up_starts_a_dead_kubelet_again_and_keeps_the_rest(ns: Kube) -> None:
    layout = Layout(settings.state_dir())
    spec = {"restartPolicy": "Always", "terminationGracePeriodSeconds": 1}
    ns.apply(pod("survivor", BUSYBOX, ["sleep", "3600"], **spec))
    ns.wait_for("the survivor to run", lambda: ns.pod_phase("survivor") == "Running")
    uid = ns.json("get", "pod", "survivor")["metadata"]["uid"]
    before = supervisor.running(layout)
    (kubelet,) = [r for r in supervisor.records(layout) if r.name == "kubelet"]
    assert supervisor.is_same_process(kubelet)
    os.kill(kubelet.pid, signal.SIGKILL)  # a process the cluster started, by its recorded PID
    deadline = time.monotonic() + 10
    while supervisor.is_same_process(kubelet):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    status = _cli("status")
    assert status.returncode == 1, status.stdout + status.stderr
    assert "NOT healthy: it is missing kubelet" in status.stdout

    up = _cli("up")
    output = up.stdout + up.stderr
    assert up.returncode == 0, output
    assert "not running: kubelet; starting it again" in output
    assert "does not answer" not in output and "tearing it down" not in output

    after = supervisor.running(layout)
    assert after["kubelet"] != kubelet.pid
    assert {k: v for k, v in after.items() if k != "kubelet"} == {
        k: v for k, v in before.items() if k != "kubelet"
    }
    # The workload is the same pod, still running.
    assert ns.json("get", "pod", "survivor")["metadata"]["uid"] == uid
    ns.wait_for("the survivor to run", lambda: ns.pod_phase("survivor") == "Running")
    assert _cli("status").returncode == 0
