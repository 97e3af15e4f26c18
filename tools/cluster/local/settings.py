"""Fixed values of the local cluster: names, addresses, ports and where its state lives.

The network values are MicroK8s' (imported from `macros/microk8s.py`), so what the pages show
on MicroK8s is what the doctest checks here. Everything else is chosen to stay on this
machine: the node address lives on an interface the cluster creates and owns, and every
listener binds loopback or that address.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from macros import microk8s

POD_CIDR: Final = microk8s.POD_CIDR
SERVICE_CIDR: Final = microk8s.SERVICE_CIDR
KUBERNETES_SERVICE_IP: Final = microk8s.KUBERNETES_SERVICE_IP
DNS_SERVICE_IP: Final = microk8s.DNS_SERVICE_IP
CLUSTER_DOMAIN: Final = microk8s.CLUSTER_DOMAIN
NODE_PORT_RANGE: Final = microk8s.NODE_PORT_RANGE
COREDNS_DEPLOYMENT: Final = microk8s.COREDNS_DEPLOYMENT
COREDNS_SERVICE: Final = microk8s.COREDNS_SERVICE
COREDNS_LABEL: Final = microk8s.COREDNS_LABEL

# The single node: a readable fixed name (it appears in `kubectl get nodes`), and its podCIDR,
# the first /24 of the pod range, which the controller-manager allocates to it.
NODE_NAME: Final = "reseau-k8s"
NODE_CIDR_MASK: Final = 24
NODE_POD_CIDR: Final = str(next(ipaddress.ip_network(POD_CIDR).subnets(new_prefix=NODE_CIDR_MASK)))

# The node address: a private /32 on an interface the cluster owns (a port-less bridge),
# never the machine's NIC. It sits just below the service range, outside the pod and service
# ranges; `up` checks that no route of the host covers it. RESEAU_K8S_NODE_IP overrides it on
# a host where it would collide.
NODE_LINK: Final = "rk8s0"
DEFAULT_NODE_IP: Final = "10.152.182.1"

# The CNI bridge (the bridge plugin's default name, as on a kubeadm + bridge cluster).
BRIDGE: Final = "cni0"
CNI_NETWORK: Final = "reseau-k8s"

# Our own iptables chains, jumped to from FORWARD and INPUT: the guards that keep every
# packet of the cluster on this machine (see network.py).
GUARD_CHAIN: Final = "RESEAU-K8S-GUARD"
GUARD_INPUT_CHAIN: Final = "RESEAU-K8S-GUARD-IN"
GUARD_OUTPUT_CHAIN: Final = "RESEAU-K8S-GUARD-OUT"

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
    def cni_conf(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def resolv_conf(self) -> Path:
        return self.root / "config" / "resolv.conf"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
