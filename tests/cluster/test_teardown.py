"""After `down`, nothing of the cluster remains: no process, mount, link, route, iptables
chain, cgroup or state file, and every sysctl it touched has its previous value back. Then
`up`'s failure paths: a port already taken, a component that exits at once, a crash of `up`
half-way; each leaves nothing behind.

It stops the shared cluster, so it runs only when asked (RESEAU_K8S_TEARDOWN_TEST=1, as
`nox -s verify` does at the very end, after the doctest).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.cluster.contract import ClusterInfo
from tools.cluster.local import (
    calico,
    guard,
    lifecycle,
    network,
    preflight,
    settings,
    state,
    supervisor,
    teardown,
    upstream_dns,
)
from tools.cluster.local.settings import Layout

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        os.environ.get("RESEAU_K8S_TEARDOWN_TEST") != "1",
        reason="stops the shared cluster: set RESEAU_K8S_TEARDOWN_TEST=1 (nox -s verify does)",
    ),
]

REPO_ROOT = Path(__file__).resolve().parents[2]


def _layout() -> Layout:
    return Layout(settings.state_dir())


def _assert_nothing_left(node_ip: str) -> None:
    assert teardown.leftovers(_layout(), node_ip) == []


def test_down_leaves_nothing_behind(cluster: ClusterInfo) -> None:
    layout = _layout()
    journal = state.entries(layout)
    records = supervisor.records(layout)
    sysctls = {e.data["key"]: e.data["previous"] for e in journal if e.kind == "sysctl"}
    # What is about to be torn down was really there: Calico's too.
    started = {"etcd", "kube-apiserver", "containerd", "kubelet", upstream_dns.NAME}
    assert {r.name for r in records} >= started
    assert guard.exists()
    assert network.link_exists(calico.VXLAN_DEVICE)
    assert network.links_named((calico.WORKLOAD_PREFIX,)), "no cali… interface (no pod?)"
    assert network.routes_within(settings.POD_CIDR), "no route in the pod range"
    assert network.ipsets((calico.WORKLOAD_PREFIX,)), "no Calico ipset"
    chains = network.cluster_chains()
    assert [c for c in chains if "/cali-" in c], "no Calico chain"
    assert network.marked_rules(), "no Calico rule in a built-in chain"
    calico_dirs = [calico.SNAP_DATA / "var/lib/calico", calico.SNAP_DATA / "var/run/calico"]
    cni_conf = calico.SNAP_DATA / "args/cni-network" / calico.CONFLIST
    assert all(d.is_dir() for d in calico_dirs) and cni_conf.is_file()
    assert calico.IPAM_LOCK.is_file()

    lifecycle.down(lambda line: print(line, flush=True))

    # Each kind of thing Calico made, named, then everything else of the cluster.
    assert not network.link_exists(calico.VXLAN_DEVICE)
    assert network.links_named((calico.WORKLOAD_PREFIX,)) == []
    assert network.routes_within(settings.POD_CIDR) == []
    assert network.ipsets((calico.WORKLOAD_PREFIX,)) == []
    assert network.cluster_chains() == []  # KUBE-, CNI-, cali-: v4 and v6, both back-ends
    assert network.marked_rules() == []
    assert not guard.exists()
    assert not any(d.exists() for d in calico_dirs) and not cni_conf.exists()
    assert not settings.MICROK8S_SNAP_LINK.is_symlink()
    assert not calico.IPAM_LOCK.exists()  # the CNI plugin's lock, outside the state
    for path in calico.MICROK8S_HOST_LINKS:
        assert not (path.is_symlink() and "microk8s" in os.readlink(path)), path
    _assert_nothing_left(settings.node_ip())
    for record in records:
        assert not supervisor.is_same_process(record), record
        assert not supervisor.session_members(record.pid), record
    for key, previous in sysctls.items():
        assert network.read_sysctl(key) == previous, key
    log_links = Path("/var/log/containers")
    if log_links.is_dir():
        assert not [
            p for p in log_links.iterdir() if os.readlink(p).startswith(str(layout.pod_logs))
        ]
    cni_results = Path("/var/lib/cni/results")
    if cni_results.is_dir():
        assert not list(cni_results.glob(f"{settings.CNI_NETWORK}-*"))
    # A second `down` finds nothing to do and does not fail.
    lifecycle.down(lambda line: None)


def test_up_refuses_a_taken_port() -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.LOOPBACK, settings.SCHEDULER_PORT))
        sock.listen()
        with pytest.raises(
            preflight.PreflightError, match=r"127\.0\.0\.1:10259 \(kube-scheduler\)"
        ):
            lifecycle.up(lambda line: None)
    _assert_nothing_left(settings.node_ip())


def test_a_component_that_exits_is_named_with_its_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(supervisor.FAULT_ENV, "kube-scheduler")
    with pytest.raises(supervisor.ComponentFailed) as failure:
        lifecycle.up(lambda line: None)
    message = str(failure.value)
    assert message.startswith("kube-scheduler: exited (code")
    assert "reseau-k8s-injected-fault" in message  # the component's own complaint, quoted
    _assert_nothing_left(settings.node_ip())


def test_down_cleans_up_after_a_crash_of_up() -> None:
    layout = _layout()
    up = subprocess.Popen(
        [sys.executable, "-m", "tools.cluster", "up"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Kill `up` without warning once the kubelet is started: pods, mounts, iptables
        # chains and sysctl changes are on their way.
        deadline = time.monotonic() + 120
        while not (layout.root / "pids" / "kubelet.json").exists():
            assert up.poll() is None, "up ended before the kubelet started"
            assert time.monotonic() < deadline, "the kubelet never started"
            time.sleep(0.05)
        time.sleep(1)
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
        assert supervisor.running(layout), "the components should outlive the killed `up`"
    finally:
        if up.poll() is None:
            up.kill()
    lifecycle.down(lambda line: print(line, flush=True))
    _assert_nothing_left(settings.node_ip())
