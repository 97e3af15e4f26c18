"""Checks made before `up` creates anything: each failure is one clear sentence, no traceback.

Root on Linux, the tools the components call, free ports, a host network that does not
overlap the cluster's ranges, and no other cluster's chains or interfaces in the way.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.cluster.local import calico, guard, network, nodes, settings, upstream_dns

LISTEN = "0A"


class PreflightError(RuntimeError):
    """A prerequisite is missing: the message says which and how to get it."""


@dataclass(frozen=True)
class Port:
    """A TCP port the cluster listens on, and who listens there."""

    address: str
    port: int
    component: str


def ports(node_ip: str) -> list[Port]:
    lo = settings.LOOPBACK
    return [
        Port(lo, settings.ETCD_CLIENT_PORT, "etcd"),
        Port(lo, settings.ETCD_PEER_PORT, "etcd (peer)"),
        Port(node_ip, settings.APISERVER_PORT, "kube-apiserver"),
        Port(lo, settings.CONTROLLER_MANAGER_PORT, "kube-controller-manager"),
        Port(lo, settings.SCHEDULER_PORT, "kube-scheduler"),
        Port(node_ip, settings.KUBELET_PORT, "kubelet"),
        Port(lo, settings.KUBELET_HEALTHZ_PORT, "kubelet (healthz)"),
        Port(lo, settings.KUBE_PROXY_METRICS_PORT, "kube-proxy (metrics)"),
        Port(lo, settings.KUBE_PROXY_HEALTHZ_PORT, "kube-proxy (healthz)"),
        Port(node_ip, upstream_dns.PORT, upstream_dns.NAME),
    ]


def _decode_address(hex_address: str) -> str:
    """/proc/net/tcp{,6} print each 32-bit word of the address as a native-order integer."""
    words = [int(hex_address[i : i + 8], 16) for i in range(0, len(hex_address), 8)]
    raw = b"".join(struct.pack("=I", word) for word in words)
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listeners(text: str) -> set[tuple[str, int]]:
    """(address, port) of the LISTEN sockets in a /proc/net/tcp or tcp6 table."""
    found: set[tuple[str, int]] = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != LISTEN:
            continue
        address, port = fields[1].split(":")
        found.add((_decode_address(address), int(port, 16)))
    return found


def taken(wanted: Iterable[Port], listening: set[tuple[str, int]]) -> list[str]:
    """Which wanted ports are already listened on (directly or through a wildcard)."""
    problems = []
    for want in wanted:
        for address, port in sorted(listening):
            if port != want.port:
                continue
            wildcard = ipaddress.ip_address(address).is_unspecified
            mapped = address == f"::ffff:{want.address}"
            if wildcard or address == want.address or mapped:
                problems.append(
                    f"port {want.address}:{want.port} ({want.component}) is taken "
                    f"(something listens on {address}:{port})"
                )
                break
    return problems


def current_listeners() -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            found |= listeners(Path(table).read_text())
        except FileNotFoundError:
            continue
    return found


REQUIRED_TOOLS = {
    "ip": "iproute2",
    "iptables": "iptables",
    "iptables-save": "iptables",
    "iptables-restore": "iptables",
    "ip6tables": "iptables",
    "runc": "runc",
    "nft": "nftables",
    "ipset": "ipset",
    "mount": "mount",
    "umount": "mount",
}


def missing_tools() -> list[str]:
    return [
        f"{tool} ({source})" for tool, source in REQUIRED_TOOLS.items() if not shutil.which(tool)
    ]


def check_host() -> None:
    """Linux, root, the tools and the kernel features the cluster needs."""
    if not sys.platform.startswith("linux"):
        raise PreflightError("the local cluster runs on Linux only")
    if os.geteuid() != 0:
        raise PreflightError(
            "the local cluster needs root (it creates interfaces, iptables chains, mounts)"
        )
    missing = missing_tools()
    if missing:
        raise PreflightError(
            "missing tools: " + ", ".join(missing) + " (`nox -s cluster` installs them)"
        )
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise PreflightError("the kernel has no overlay filesystem (containerd's snapshotter)")


# The kubelet's device-plugin socket: a fixed path (every kubelet of a machine uses it). A stale
# one (no kubelet behind it) is replaced by ours at start, and removed by `down`.
KUBELET_SOCKET = nodes.DEVICE_PLUGINS / "kubelet.sock"


def _live_socket(path: Path) -> bool:
    """Whether something accepts connections on the unix socket `path`."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def check_network(node_ip: str) -> None:
    """Free ports, no overlap with the host's routes, no other cluster's leftovers."""
    problems = taken(ports(node_ip), current_listeners())
    problems += network.conflicts(network.host_prefixes(), node_ip)
    bridge_ports = [settings.Node(i, settings.node_name(i), "").host_port for i in range(2, 10)]
    for link in (settings.NODE_LINK, calico.VXLAN_DEVICE, calico.VXLAN_V6_DEVICE, *bridge_ports):
        if network.link_exists(link):
            problems.append(f"interface {link} already exists (another cluster, or a leftover)")
    workloads = network.links_named((calico.WORKLOAD_PREFIX,))
    if workloads:
        problems.append(f"Calico interfaces already exist ({', '.join(workloads[:3])}…)")
    sets = network.ipsets((calico.WORKLOAD_PREFIX,))
    if sets:
        problems.append(f"Calico's ipsets already exist ({', '.join(sets[:3])}…)")
    if calico.IPAM_LOCK.exists():
        problems.append(f"{calico.IPAM_LOCK} exists (another Calico on this host, or a leftover)")
    if _live_socket(KUBELET_SOCKET):
        problems.append(f"{KUBELET_SOCKET} answers: another kubelet runs on this host")
    if guard.exists():
        problems.append(f"nftables table {guard.FAMILY} {guard.TABLE} already exists")
    snap = settings.MICROK8S_SNAP_LINK
    if snap.exists() or snap.is_symlink():
        problems.append(
            f"{snap} exists (MicroK8s, or a leftover): the local cluster puts MicroK8s' node "
            "paths there and would hide it"
        )
    foreign = network.foreign_cluster_chains()
    if foreign:
        problems.append(
            "iptables chains of another cluster are present ("
            + ", ".join(foreign[:5])
            + (", …" if len(foreign) > 5 else "")
            + "): `down` could not tell them from ours"
        )
    if problems:
        raise PreflightError("cannot start the local cluster:\n  - " + "\n  - ".join(problems))
