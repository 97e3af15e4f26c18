"""Fixed values of the local cluster: names, addresses, ports and where its state lives.

The network values are MicroK8s' (from `tools/cluster/microk8s.py`, which the pages' macros
print too), so what the pages show on MicroK8s is what the doctest checks here. Everything
else is chosen to stay on this machine: the node address lives on an interface the cluster
creates and owns, and every listener binds loopback or that address.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tools.cluster import microk8s

POD_CIDR: Final = microk8s.POD_CIDR
SERVICE_CIDR: Final = microk8s.SERVICE_CIDR
KUBERNETES_SERVICE_IP: Final = microk8s.KUBERNETES_SERVICE_IP
DNS_SERVICE_IP: Final = microk8s.DNS_SERVICE_IP
CLUSTER_DOMAIN: Final = microk8s.CLUSTER_DOMAIN
NODE_PORT_RANGE: Final = microk8s.NODE_PORT_RANGE
COREDNS_DEPLOYMENT: Final = microk8s.COREDNS_DEPLOYMENT
COREDNS_SERVICE: Final = microk8s.COREDNS_SERVICE
COREDNS_LABEL: Final = microk8s.COREDNS_LABEL

# The first node is this machine itself (control plane, kubelet, kube-proxy, calico-node); the
# others are network and mount namespaces of this machine, each with its own containerd,
# kubelet, kube-proxy and calico-node. Names read as a MicroK8s reader's machines do in
# `kubectl get nodes`: the first one's, then the same with a number. As on MicroK8s, the
# controller-manager allocates no podCIDR to nodes: Calico's IPAM hands out /26 blocks.
NODE_NAME: Final = "reseau-k8s"
DEFAULT_NODES: Final = 2
MAX_NODES: Final = 3

# The node addresses: a private /24 of the cluster's own, like the LAN a reader's machines
# share, on a bridge the cluster owns (never the machine's NIC). It sits just below MicroK8s'
# service range, outside the pod and service ranges; `up` checks that no route of the host
# overlaps it. The first node takes the first address, node N the Nth. RESEAU_K8S_NODE_IP
# (the first node's address) moves the range on a host where it would collide.
NODE_LINK: Final = "rk8s0"
DEFAULT_NODE_IP: Final = "10.152.182.1"
NODE_PREFIX: Final = 24

# The pod network is Calico's, named and configured as MicroK8s does (see calico.py).
CNI_NETWORK: Final = "k8s-pod-network"

# The network guard: an nftables table of the cluster's own (see guard.py).
GUARD_TABLE: Final = "reseau-k8s"

# MicroK8s keeps its node files under /var/snap/microk8s/current (SNAP_DATA) and
# /var/snap/microk8s/common (SNAP_COMMON), and Calico's manifests name those paths. The local
# cluster keeps them in its state directory and links this path to them while it runs.
MICROK8S_SNAP_LINK: Final = Path("/var/snap/microk8s")

# Listeners. Ports are the upstream defaults, so logs and docs read as usual; `up` checks that
# each one is free before starting anything.
ETCD_CLIENT_PORT: Final = 2379
ETCD_PEER_PORT: Final = 2380
APISERVER_PORT: Final = 6443
CONTROLLER_MANAGER_PORT: Final = 10257
SCHEDULER_PORT: Final = 10259
KUBELET_PORT: Final = 10250
KUBELET_HEALTHZ_PORT: Final = 10248
KUBE_PROXY_METRICS_PORT: Final = 10249
KUBE_PROXY_HEALTHZ_PORT: Final = 10256
LOOPBACK: Final = "127.0.0.1"

DEFAULT_STATE_DIR: Final = Path("/var/lib/reseau-k8s/local")


def node_ip() -> str:
    """The first node's address (RESEAU_K8S_NODE_IP, or the default), validated as a private
    IPv4 whose /24 (the nodes' range) stays clear of the pod and service ranges."""
    value = os.environ.get("RESEAU_K8S_NODE_IP", DEFAULT_NODE_IP)
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ValueError(f"RESEAU_K8S_NODE_IP={value!r}: not an IPv4 address") from exc
    if not address.is_private or address.is_loopback or address.is_link_local:
        raise ValueError(f"RESEAU_K8S_NODE_IP={value!r}: a private (RFC 1918) address is needed")
    nodes = ipaddress.ip_network(node_range(value))
    if address == nodes.network_address:
        raise ValueError(f"RESEAU_K8S_NODE_IP={value!r} is the network address of {nodes}")
    for cidr in (POD_CIDR, SERVICE_CIDR):
        if nodes.overlaps(ipaddress.ip_network(cidr)):
            raise ValueError(
                f"RESEAU_K8S_NODE_IP={value!r}: the nodes' range {nodes} overlaps {cidr}"
            )
    return value


def node_range(first_ip: str) -> str:
    """The nodes' range: the /24 holding the first node's address."""
    return str(ipaddress.ip_interface(f"{first_ip}/{NODE_PREFIX}").network)


@dataclass(frozen=True)
class Node:
    """One node: its number (1 is this machine itself), its name and its address."""

    index: int
    name: str
    ip: str

    @property
    def is_host(self) -> bool:
        """The first node runs on the machine itself, in its own namespaces."""
        return self.index == 1

    @property
    def host_port(self) -> str:
        """Name of the bridge port that joins this node's namespace to the nodes' bridge."""
        return f"{NODE_LINK}-{self.index}"


def node_name(index: int) -> str:
    return NODE_NAME if index == 1 else f"{NODE_NAME}-{index}"


def nodes(count: int, first_ip: str | None = None) -> list[Node]:
    """The `count` nodes, named and addressed in order inside the nodes' range."""
    if not 1 <= count <= MAX_NODES:
        raise ValueError(f"--nodes {count}: between 1 and {MAX_NODES} nodes")
    first = ipaddress.IPv4Address(first_ip or node_ip())
    network = ipaddress.ip_network(node_range(str(first)))
    found = []
    for index in range(1, count + 1):
        address = first + (index - 1)
        if address not in network or address == network.broadcast_address:
            raise ValueError(
                f"node {index} would get {address}, outside {network}: "
                "choose a lower RESEAU_K8S_NODE_IP"
            )
        found.append(Node(index, node_name(index), str(address)))
    return found


def apiserver_url(node_ip: str) -> str:
    """Where the API server answers: the node address (pods reach it there too)."""
    return f"https://{node_ip}:{APISERVER_PORT}"


def state_dir() -> Path:
    """Where all the cluster's state lives (RESEAU_K8S_STATE_DIR overrides it, for tests)."""
    return Path(os.environ.get("RESEAU_K8S_STATE_DIR", str(DEFAULT_STATE_DIR)))


@dataclass(frozen=True)
class NodePaths:
    """The paths of one node's own programs and files: containerd, the kubelet, MicroK8s'
    node files. The first node's are at the top of the state directory, another node's under
    `nodes/<name>/`."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def runc_root(self) -> Path:
        return self.root / "containerd" / "runc"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def snap(self) -> Path:
        """What /var/snap/microk8s is on this node while the cluster runs."""
        return self.root / "snap"

    @property
    def snap_data(self) -> Path:
        """MicroK8s' SNAP_DATA (/var/snap/microk8s/current): CNI files, Calico's node state."""
        return self.snap / "current"

    @property
    def snap_common(self) -> Path:
        """MicroK8s' SNAP_COMMON (/var/snap/microk8s/common): the CNI plugin's log."""
        return self.snap / "common"

    @property
    def cni_conf(self) -> Path:
        """containerd's CNI configuration directory (MicroK8s: args/cni-network)."""
        return self.snap_data / "args" / "cni-network"

    @property
    def cni_bin(self) -> Path:
        """containerd's CNI plugin directory, filled by Calico's install-cni."""
        return self.snap_data / "opt" / "cni" / "bin"

    @property
    def resolv_conf(self) -> Path:
        return self.root / "config" / "resolv.conf"

    # What another node's mount namespace puts over the host's fixed paths (see nodes.py).

    @property
    def run_calico(self) -> Path:
        """Over /run/calico: the Calico IPAM plugin's lock."""
        return self.root / "run-calico"

    @property
    def device_plugins(self) -> Path:
        """Over /var/lib/kubelet/device-plugins: the kubelet's fixed socket directory."""
        return self.root / "device-plugins"

    @property
    def xtables_lock(self) -> Path:
        """Over /run/xtables.lock: each node's iptables has its own lock, as on a machine."""
        return self.root / "xtables.lock"

    @property
    def cgroup_aside(self) -> Path:
        """Where the cgroup mounts wait while sysfs is mounted again for the node's network."""
        return self.root / "cgroup-aside"


@dataclass(frozen=True)
class Layout(NodePaths):
    """Every path of the cluster, all under one 0700 directory removed by `down`; the first
    node's own paths at its top (NodePaths), the other nodes' under `nodes/`."""

    @property
    def journal(self) -> Path:
        """Resources in creation order, each written before it is created (see state.py)."""
        return self.root / "journal.jsonl"

    @property
    def info(self) -> Path:
        return self.root / "cluster.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfigs(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "kubeconfig" / "admin.conf"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def registry_hosts(self) -> Path:
        """containerd's registry mirrors, the same for every node."""
        return self.root / "containerd" / "certs.d"

    @property
    def namespaces(self) -> Path:
        """The other nodes' network and mount namespaces, bound to files (a private mount)."""
        return self.root / "nodes" / "ns"

    def netns(self, node: Node) -> Path:
        return self.namespaces / f"{node.name}.net"

    def mntns(self, node: Node) -> Path:
        return self.namespaces / f"{node.name}.mnt"

    def node(self, node: Node) -> NodePaths:
        """The node's own paths (the first node's are this layout's)."""
        return self if node.is_host else NodePaths(self.root / "nodes" / node.name)

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
