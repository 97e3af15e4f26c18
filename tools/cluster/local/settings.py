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

# The single node: a readable fixed name (it appears in `kubectl get nodes`). As on MicroK8s,
# the controller-manager allocates no podCIDR to nodes: Calico's IPAM hands out /26 blocks.
NODE_NAME: Final = "reseau-k8s"

# The node address: a private /32 on an interface the cluster owns (a port-less bridge),
# never the machine's NIC. It sits just below the service range, outside the pod and service
# ranges; `up` checks that no route of the host covers it. RESEAU_K8S_NODE_IP overrides it on
# a host where it would collide.
NODE_LINK: Final = "rk8s0"
DEFAULT_NODE_IP: Final = "10.152.182.1"

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
    """The node address (RESEAU_K8S_NODE_IP, or the default), validated as a private IPv4."""
    value = os.environ.get("RESEAU_K8S_NODE_IP", DEFAULT_NODE_IP)
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ValueError(f"RESEAU_K8S_NODE_IP={value!r}: not an IPv4 address") from exc
    if not address.is_private or address.is_loopback or address.is_link_local:
        raise ValueError(f"RESEAU_K8S_NODE_IP={value!r}: a private (RFC 1918) address is needed")
    for cidr in (POD_CIDR, SERVICE_CIDR):
        if address in ipaddress.ip_network(cidr):
            raise ValueError(f"RESEAU_K8S_NODE_IP={value!r} lies inside {cidr}")
    return value


def apiserver_url(node_ip: str) -> str:
    """Where the API server answers: the node address (pods reach it there too)."""
    return f"https://{node_ip}:{APISERVER_PORT}"


def state_dir() -> Path:
    """Where all the cluster's state lives (RESEAU_K8S_STATE_DIR overrides it, for tests)."""
    return Path(os.environ.get("RESEAU_K8S_STATE_DIR", str(DEFAULT_STATE_DIR)))


@dataclass(frozen=True)
class Layout:
    """Every path of the cluster, all under one 0700 directory removed by `down`."""

    root: Path

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
    def config(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

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
    def registry_hosts(self) -> Path:
        return self.root / "containerd" / "certs.d"

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
        """What /var/snap/microk8s points to while the cluster runs."""
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

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
