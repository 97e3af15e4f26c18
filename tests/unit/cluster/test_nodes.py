"""The nodes beyond the first, read without a cluster: how their programs are entered, and
what their mount namespace puts over the machine's fixed paths."""

from __future__ import annotations

from pathlib import Path

from tools.cluster.local import lifecycle, nodes, settings, teardown
from tools.cluster.local.settings import Layout
from tools.cluster.local.state import Entry

FIRST, SECOND = settings.nodes(2, "10.152.182.1")
LAYOUT = Layout(Path("/var/lib/reseau-k8s/local"))


def test_the_first_node_is_the_machine_itself() -> None:
    assert nodes.enter(LAYOUT, FIRST) == []
    assert LAYOUT.node(FIRST) is LAYOUT
    assert lifecycle.process_name("kubelet", FIRST) == "kubelet"


def test_another_node_runs_inside_its_own_namespaces() -> None:
    ns = "/var/lib/reseau-k8s/local/nodes/ns"
    assert nodes.enter(LAYOUT, SECOND) == [
        "nsenter",
        f"--net={ns}/reseau-k8s-2.net",
        f"--mount={ns}/reseau-k8s-2.mnt",
        "--",
    ]
    name = lifecycle.process_name("kubelet", SECOND)
    assert name == "kubelet@reseau-k8s-2"
    assert teardown.component(name) == "kubelet"  # stopped with the kubelets' tier
    assert SECOND.host_port == "rk8s0-2"


def test_mount_script_gives_the_node_its_own_fixed_paths() -> None:
    """Not `ip netns exec`: sysfs is mounted again for the node's interfaces with the cgroup
    mounts kept, and each fixed path of a machine gets the node's own directory."""
    own = "/var/lib/reseau-k8s/local/nodes/reseau-k8s-2"
    lines = nodes.mount_script(LAYOUT, SECOND).splitlines()
    assert lines[:4] == [
        "set -e",
        f"mount --rbind /sys/fs/cgroup {own}/cgroup-aside",
        "mount -t sysfs sysfs /sys",
        f"mount --move {own}/cgroup-aside /sys/fs/cgroup",
    ]
    binds = {line.split()[3]: line.split()[2] for line in lines if line.startswith("mount --bind")}
    assert binds == {
        # /var/snap/microk8s links there: /var/lib/calico, /etc/cni/net.d… follow it.
        "/var/lib/reseau-k8s/local/snap": f"{own}/snap",
        "/run/calico": f"{own}/run-calico",
        "/var/lib/kubelet/device-plugins": f"{own}/device-plugins",
        "/run/xtables.lock": f"{own}/xtables.lock",
    }
    assert lines[-1] == "umount -l /var/lib/reseau-k8s/local/nodes/ns"


def test_down_finds_the_nodes_in_the_journal() -> None:
    journal = [
        Entry("link", {"name": "rk8s0"}),
        Entry("node", {"name": "reseau-k8s-2", "index": 2, "ip": "10.152.182.2"}),
    ]
    assert nodes.recorded(LAYOUT, journal) == [SECOND]
