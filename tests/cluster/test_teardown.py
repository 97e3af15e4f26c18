"""After `down`, nothing of the cluster remains: no process, mount, link, route, iptables
chain, cgroup or state file, and every sysctl it touched has its previous value back; for
every node (the other nodes' namespaces, bridge ports and fixed paths too). Then `up`'s
failure paths: a port already taken, a component that exits at once, a crash of `up`
half-way, Ctrl-C during `up`; each leaves nothing behind.

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

from tests.cluster.nodes import run_on, running_nodes
from tools.cluster.contract import ClusterInfo
from tools.cluster.local import (
    calico,
    cgroups,
    guard,
    lifecycle,
    mounts,
    network,
    nodes,
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


def _netns_inode(path: Path) -> int:
    return os.stat(path).st_ino


def _processes_in_netns(inode: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def test_down_leaves_nothing_behind(cluster: ClusterInfo) -> None:
    layout = _layout()
    journal = state.entries(layout)
    records = supervisor.records(layout)
    sysctls = {e.data["key"]: e.data["previous"] for e in journal if e.kind == "sysctl"}
    # What is about to be torn down was really there: Calico's too, and every node's.
    started = {"etcd", "kube-apiserver", "containerd", "kubelet", upstream_dns.NAME}
    assert {r.name for r in records} >= started
    others = running_nodes()[1:]
    assert others, "a single node: the other nodes' teardown would go unchecked"
    inodes = {}
    for node in others:
        assert {f"{c}@{node.name}" for c in ("containerd", "kubelet", "kube-proxy")} <= {
            r.name for r in records
        }
        assert network.link_exists(node.host_port)
        inodes[node.name] = _netns_inode(layout.netns(node))
        assert _processes_in_netns(inodes[node.name]), f"nothing runs in {node.name}"
        # Calico's own things, in the node's namespaces.
        assert "vxlan.calico" in run_on(node, "ip", "-br", "link")
        assert "cali-" in run_on(node, "iptables-save")
        assert run_on(node, "test", "-f", "/var/lib/calico/nodename", mounts=True) == ""
        assert cgroups.processes(f"/reseau-k8s/{node.name}"), node.name
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
    for node in others:
        assert not network.link_exists(node.host_port)
        assert _processes_in_netns(inodes[node.name]) == [], node.name
    assert mounts.under(layout.root) == []
    assert not (nodes.DEVICE_PLUGINS / "kubelet.sock").exists()
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


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _up_until(pid_file: str, after: float) -> subprocess.Popen[bytes]:
    """`up` (2 nodes) in a child process, returned once `pid_file` exists and `after` seconds
    more have passed."""
    layout = _layout()
    lifecycle.down(lambda line: None)  # a fresh `up`, not the one that finds a cluster running
    up = subprocess.Popen(
        [sys.executable, "-m", "tools.cluster", "up", "--nodes", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Ctrl-C as in a terminal: a run started in the background (a CI script, `cmd &`)
        # inherits SIGINT ignored, and Python then leaves it ignored.
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    while not (layout.root / "pids" / pid_file).exists():
        if up.poll() is not None or time.monotonic() > deadline:
            up.kill()
            raise AssertionError(f"up ended, or took too long, before {pid_file}")
        time.sleep(0.05)
    time.sleep(after)
    return up


@pytest.mark.parametrize(
    ("pid_file", "after"),
    [
        # The kubelets started: pods, mounts, iptables chains and sysctl changes on their way.
        ("kubelet@reseau-k8s-2.json", 1.0),
        # Just after the second node's namespaces were made and its containerd started.
        ("containerd@reseau-k8s-2.json", 0.0),
    ],
)
def test_down_cleans_up_after_a_crash_of_up(pid_file: str, after: float) -> None:
    layout = _layout()
    up = _up_until(pid_file, after)
    try:
        up.send_signal(signal.SIGKILL)  # without warning: `up` cleans nothing
        up.wait(timeout=10)
        assert supervisor.running(layout), "the components should outlive the killed `up`"
    finally:
        if up.poll() is None:
            up.kill()
    lifecycle.down(lambda line: print(line, flush=True))
    _assert_nothing_left(settings.node_ip())


def test_ctrl_c_during_up_leaves_nothing_behind() -> None:
    """Ctrl-C (SIGINT) once the second node's kubelet runs: `up` stops what it started,
    undoes every change, and exits 130."""
    up = _up_until("kubelet@reseau-k8s-2.json", 0.5)
    try:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 130
    finally:
        if up.poll() is None:
            up.kill()
    _assert_nothing_left(settings.node_ip())
    assert not _layout().root.exists()
