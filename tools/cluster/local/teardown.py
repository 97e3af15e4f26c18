"""`down`: stop what the journal says was started, undo what it says was created.

Works from the state directory alone, whatever point `up` reached: each step tolerates a
resource that never came to exist. Order matters:

1. every node's kubelet and the other clients of the apiserver first (a kubelet would
   restart containers);
2. the pods' containers: every process in the kubelets' cgroup tree (only pods live there);
3. every node's containerd, then its shims (they stay in the session of the containerd we
   started);
4. the apiserver, the registry and the upstream DNS, then etcd;
5. mounts under the state directory (the other nodes' namespace files among them: with their
   processes gone, their namespaces go, and everything in them: interfaces, routes, iptables
   and nftables rules, mounts), the kubelets' log links and libcni's cache entries,
   then the journal backwards (directories, cgroups, the iptables chains of kube-proxy,
   portmap and Calico, Calico's interfaces, routes and ipsets, the /var/snap/microk8s link,
   the nodes' bridge ports, the guard table, the nodes' bridge and its route, sysctls), then
   the state.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tools.cluster.local import (
    calico,
    cgroups,
    guard,
    mounts,
    network,
    nodes,
    registry,
    settings,
    state,
    supervisor,
    upstream_dns,
)
from tools.cluster.local.components import CGROUP_ROOT
from tools.cluster.local.settings import Layout

# Stop order, in tiers stopped together: the clients of containerd and of the apiserver, then
# (after the pods' containers) containerd, then the apiserver, the registry and the upstream
# DNS, then etcd.
NODE_TIER = ("kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager")
RUNTIME_TIER = ("containerd",)
STORAGE_TIERS = (("kube-apiserver", "registry", upstream_dns.NAME), ("etcd",))
SHIM_SOCKET_DIR = Path("/run/containerd/s")
# The programs of the cluster (a kubectl naming the admin kubeconfig is not one of them).
COMPONENT_BINARIES = frozenset(
    {
        "etcd",
        "containerd",
        "containerd-shim-runc-v2",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "coredns",  # the upstream DNS (CoreDNS's own pods do not name the state directory)
    }
)


def component(name: str) -> str:
    """The program a recorded process name stands for (`kubelet@reseau-k8s-2` -> kubelet)."""
    return name.split("@", 1)[0]


def _stop_components(layout: Layout, names: tuple[str, ...], report: Callable[[str], None]) -> None:
    records = [r for r in supervisor.records(layout) if component(r.name) in names]
    stopped = supervisor.stop_all(records)
    if stopped:
        report("stopped " + ", ".join(f"{r.name} ({r.pid})" for r in stopped))


def node_paths(layout: Layout) -> list[settings.NodePaths]:
    """Every node's own paths: the first node's, and those of the nodes the journal names."""
    try:
        journal = state.entries(layout)
    except state.StateError:
        journal = []
    return [layout, *(layout.node(n) for n in nodes.recorded(layout, journal))]


def _task_dirs(paths: settings.NodePaths) -> list[Path]:
    """containerd's per-task bundle directories (their names give the shims' sockets)."""
    root = paths.containerd_state / "io.containerd.runtime.v2.task"
    return sorted(p for p in root.glob("*/*") if p.is_dir()) if root.is_dir() else []


def _stop_shims(layout: Layout, report: Callable[[str], None]) -> None:
    """Kill the containerd shims: they stay in the session of the containerd we started
    (they only leave its process group), so that recorded session id names them exactly."""
    containerd = [r for r in supervisor.records(layout) if component(r.name) == "containerd"]
    shims = [pid for r in containerd for pid in supervisor.session_members(r.pid)]
    for pid in shims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        supervisor.session_members(r.pid) for r in containerd
    ):
        time.sleep(0.05)
    if shims:
        report(f"killed {len(shims)} containerd shims")
    # A killed shim leaves its socket; its name is the hash of containerd's address,
    # namespace and task id (containerd's shim.SocketAddress). Every node's containerd puts
    # them in the same host directory.
    for paths in node_paths(layout):
        for task in _task_dirs(paths):
            namespace, task_id = task.parent.name, task.name
            key = os.path.join(str(paths.containerd_socket), namespace, task_id)
            socket = SHIM_SOCKET_DIR / hashlib.sha256(key.encode()).hexdigest()
            with contextlib.suppress(FileNotFoundError):
                socket.unlink()


def _remove_pod_log_links(layout: Layout) -> None:
    """The kubelets' /var/log/containers links that point into our pod logs (any node's)."""
    directory = Path("/var/log/containers")
    if not directory.is_dir():
        return
    for link in directory.iterdir():
        with contextlib.suppress(OSError):
            if link.is_symlink() and os.readlink(link).startswith(f"{layout.root}/"):
                link.unlink()


def _sandbox_ids(layout: Layout) -> set[str]:
    """IDs of the pod sandboxes our containerds know (their CRI metadata directories)."""
    ids: set[str] = set()
    for paths in node_paths(layout):
        for base in (paths.containerd / "root", paths.containerd_state):
            directory = base / "io.containerd.grpc.v1.cri" / "sandboxes"
            if directory.is_dir():
                ids |= {p.name for p in directory.iterdir()}
    return ids


def _remove_cni_results(layout: Layout) -> None:
    """libcni caches each attachment's result under /var/lib/cni/results, as
    `<network>-<sandbox id>-<interface>`; the pods were never deleted through CNI, so their
    entries (our network's, and containerd's loopback ones for our sandboxes) go here."""
    directory = Path("/var/lib/cni/results")
    if not directory.is_dir():
        return
    ids = _sandbox_ids(layout)
    for path in directory.iterdir():
        parts = path.name.rsplit("-", 2)
        ours = path.name.startswith(f"{settings.CNI_NETWORK}-") or (
            len(parts) == 3 and parts[1] in ids
        )
        if ours:
            with contextlib.suppress(OSError):
                path.unlink()


def _undo(entry: state.Entry, report: Callable[[str], None]) -> None:
    data = entry.data
    if entry.kind == "rule":
        network.delete_rule(data["table"], data["chain"], data["rule"])
    elif entry.kind == "chain":
        network.delete_chain(data["table"], data["name"])
    elif entry.kind == "route":
        network.delete_route(data["route"])
    elif entry.kind == "link":
        network.delete_links_on(data["name"])
        network.delete_link(data["name"])
    elif entry.kind == "sysctl":
        network.restore_sysctl(data["key"], data["previous"])
    elif entry.kind == "chain-prefixes":
        prefixes, markers = tuple(data["prefixes"]), tuple(data.get("markers", ()))
        removed = network.delete_chains_with_prefix(prefixes, markers)
        if removed:
            report(f"deleted {len(removed)} iptables chains ({', '.join(prefixes)}*)")
    elif entry.kind == "calico":
        _undo_calico(report)
    elif entry.kind == "nft-table":
        guard.delete_table(data["family"], data["name"])
    elif entry.kind == "symlink":
        path = Path(data["path"])
        if path.is_symlink() and os.readlink(path) == data["target"]:
            path.unlink()
        with contextlib.suppress(OSError):
            for parent in map(Path, data.get("parents", [])):
                parent.rmdir()
    elif entry.kind == "cgroup":
        remaining = cgroups.remove(data["name"])
        if remaining:
            raise RuntimeError(f"cgroups still busy: {', '.join(map(str, remaining[:3]))}")
    elif entry.kind == "dir":
        # A directory outside the state directory where the cluster leaves files (named in
        # the entry, absent before `up`): they go, and the directory too if `up` made it and
        # nothing else is in it.
        for name in data.get("files", []):
            with contextlib.suppress(FileNotFoundError):
                (Path(data["path"]) / name).unlink()
        if data.get("created", True):
            with contextlib.suppress(OSError):
                for parent in [Path(data["path"]), *map(Path, data.get("parents", []))]:
                    parent.rmdir()
    elif entry.kind == "file":
        with contextlib.suppress(FileNotFoundError):
            Path(data["path"]).unlink()
    elif entry.kind == "node":
        # Its processes are stopped and its namespace files unmounted by now (every mount
        # under the state directory comes off first): the namespaces, and all in them, are
        # gone. A file still mounted would keep them alive.
        for key in ("mntns", "netns"):
            if mounts.under(Path(data[key])):
                mounts.unmount_all(Path(data[key]))
            if mounts.under(Path(data[key])):
                raise RuntimeError(f"node {data['name']}: {data[key]} is still mounted")


def _undo_calico(report: Callable[[str], None]) -> None:
    """What Calico made on the host: the VXLAN device, the pods' `cali…` ends (gone with the
    pods' network namespaces, unless a namespace outlived them), the routes left in the pod
    range (the blackhole route of the node's block), and Felix's ipsets."""
    links = [calico.VXLAN_DEVICE, calico.VXLAN_V6_DEVICE]
    links += network.links_named((calico.WORKLOAD_PREFIX,))
    deleted = [name for name in links if network.link_exists(name)]
    for name in deleted:
        network.delete_link(name)
    routes = network.routes_within(settings.POD_CIDR)
    for route in routes:
        network.delete_route(route)
    sets = network.destroy_ipsets((calico.WORKLOAD_PREFIX,))
    if deleted or routes or sets:
        report(
            f"removed Calico's {len(deleted)} interfaces, {len(routes)} routes, {len(sets)} ipsets"
        )


def down(layout: Layout, report: Callable[[str], None] = print) -> list[str]:
    """Tear the cluster down; returns the problems met (empty when everything is gone)."""
    problems: list[str] = []
    if not layout.root.exists():
        return problems
    _stop_components(layout, NODE_TIER, report)
    killed = cgroups.kill_all(CGROUP_ROOT)
    if killed:
        report(f"killed {killed} container processes")
    _stop_components(layout, RUNTIME_TIER, report)
    _stop_shims(layout, report)
    for tier in STORAGE_TIERS:
        _stop_components(layout, tier, report)
    # Anything recorded but in no tier (a component added later) goes too.
    _stop_components(layout, tuple(component(r.name) for r in supervisor.records(layout)), report)
    count = len(mounts.under(layout.root))
    left = mounts.unmount_all(layout.root)
    if count:
        report(f"unmounted {count - len(left)} mounts")
    if left:
        problems.append(f"mounts that would not come off: {', '.join(left[:5])}")
    _remove_pod_log_links(layout)
    _remove_cni_results(layout)
    try:
        journal = state.entries(layout)
    except state.StateError as exc:
        problems.append(str(exc))
        journal = []
    for entry in reversed(journal):
        try:
            _undo(entry, report)
        except Exception as exc:  # keep going: every other resource must still be removed
            problems.append(f"{entry.kind} {entry.data}: {exc}")
    report("network, iptables, sysctls and cgroups restored")
    if mounts.under(layout.root):
        problems.append(f"{layout.root} kept: mounts remain below it")
    else:
        shutil.rmtree(layout.root, ignore_errors=True)
        if layout.root.exists():
            problems.append(f"{layout.root} could not be removed")
        with contextlib.suppress(OSError):
            layout.root.parent.rmdir()  # /var/lib/reseau-k8s, if nothing else is there
    return problems


def _cluster_processes(layout: Layout) -> list[str]:
    """Live cluster programs whose command line names the state directory (every component
    and shim does), and the registry: a check only, nothing is signalled by name."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [a.decode(errors="replace") for a in argv if a]
        if not text:
            continue
        component = Path(text[0]).name in COMPONENT_BINARIES
        names_state = any(str(layout.root) in a for a in text)
        if (component and names_state) or registry.MODULE in text:
            found.append(f"process {entry} ({' '.join(text)[:80]})")
    return found


def _nft_mentions() -> list[str]:
    """Lines of the whole nftables ruleset that name Calico or the guard (iptables-nft rules
    show there too, whichever tool made them)."""
    result = network.run(["nft", "list", "ruleset"], check=False)
    return [
        line.strip()
        for line in result.stdout.splitlines()
        if "cali" in line or settings.GUARD_TABLE in line
    ]


def _node_namespaces(node_range: str) -> list[str]:
    """Processes in a network namespace that looks like a node's: one with a `rk8s0` holding
    an address of the nodes' range (a check only, nothing is signalled)."""
    host = os.stat("/proc/self/ns/net").st_ino
    seen: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            inode = os.stat(f"/proc/{entry}/ns/net").st_ino
            if inode != host:
                seen.setdefault(inode, int(entry))
    found = []
    network_range = ipaddress.ip_network(node_range)
    for inode, pid in seen.items():
        result = network.run(
            ["nsenter", "-t", str(pid), "-n", "ip", "-4", "-j", "addr", "show", "dev",
             settings.NODE_LINK],
            check=False,
        )  # fmt: skip
        addresses = [
            info.get("local", "")
            for link in json.loads(result.stdout or "[]")
            for info in link.get("addr_info", [])
        ]
        if any(a and ipaddress.ip_address(a) in network_range for a in addresses):
            found.append(f"process {pid} in a node's network namespace (net:[{inode}])")
    return found


def leftovers(layout: Layout, node_ip: str) -> list[str]:
    """What of a cluster remains on the host (what the teardown test asserts is nothing):
    the first node's, and the other nodes' (their bridge ports, anything still running in a
    network namespace of theirs)."""
    found = _cluster_processes(layout)
    found += _node_namespaces(settings.node_range(node_ip))
    for record in supervisor.records(layout):
        if supervisor.is_same_process(record):
            found.append(f"process {record.name} ({record.pid})")
    if cgroups.processes(CGROUP_ROOT):
        found.append("processes in the cgroup " + CGROUP_ROOT)
    found += [f"mount {p}" for p in mounts.under(layout.root)]
    ports = [settings.Node(i, settings.node_name(i), "").host_port for i in range(2, 10)]
    for link in (settings.NODE_LINK, calico.VXLAN_DEVICE, calico.VXLAN_V6_DEVICE, *ports):
        if network.link_exists(link):
            found.append(f"link {link}")
    found += [f"link {name}" for name in network.links_named((calico.WORKLOAD_PREFIX,))]
    found += [f"iptables chain {c}" for c in network.cluster_chains()]
    found += [f"iptables rule {r}" for r in network.marked_rules()]
    found += [f"ipset {name}" for name in network.ipsets((calico.WORKLOAD_PREFIX,))]
    if guard.exists():
        found.append(f"nftables table {guard.FAMILY} {guard.TABLE}")
    found += [f"nftables {line}" for line in _nft_mentions()]
    routes = network.run(["ip", "-4", "route", "show", "table", "all"]).stdout
    for line in routes.splitlines():
        if settings.SERVICE_CIDR in line or node_ip in line or settings.node_range(node_ip) in line:
            found.append(f"route {line.strip()}")
    found += [f"route {' '.join(r)}" for r in network.routes_within(settings.POD_CIDR)]
    for path in (calico.IPAM_LOCK, nodes.DEVICE_PLUGINS / "kubelet.sock"):
        if path.exists():
            found.append(f"file {path}")
    snap = settings.MICROK8S_SNAP_LINK
    if snap.is_symlink() and os.readlink(snap) == str(layout.snap):
        found.append(f"link {snap} -> {layout.snap}")
    for path in calico.MICROK8S_HOST_LINKS:
        if path.is_symlink() and os.readlink(path).startswith(f"{snap}/"):
            found.append(f"link {path} -> {os.readlink(path)}")
    if layout.root.exists():
        found.append(f"state directory {layout.root}")
    found += [f"cgroup {p}" for p in cgroups.paths(CGROUP_ROOT) if p.exists()]
    return found
