"""The nodes beyond the first: each one a network namespace and a mount namespace of this
machine, plugged into the nodes' bridge like a machine into a switch.

A node's containerd, kubelet, kube-proxy and (through its containerd) calico-node run inside
both namespaces, entered with `nsenter --net=… --mount=…`. The namespaces are bound to files
under the state directory, so they outlive the commands that made them and are found again by
`down`; they go away when the last process in them has stopped and those files are unmounted.

- Network: the node's end of a veth pair, named like the machine's bridge (`rk8s0`), holds the
  node's address in the nodes' /24; the other end is a port of that bridge. Its default route
  goes to the first node, like a machine's to its LAN's gateway: Calico needs one (a pod's
  ARP request for its gateway 169.254.1.1 is answered by proxy ARP only when the node has a
  route to that address). The first node's guard lets nothing from the nodes' link out but
  VXLAN and ping between nodes, and each node has the same guard table in its own namespace.
- Mounts: a new mount namespace (not `ip netns exec`, which mounts a sysfs of its own over
  /sys and so empties /sys/fs/cgroup, where the kubelet and runc work). sysfs is mounted again
  so that /sys/class/net shows the node's interfaces, with the cgroup mounts moved back on
  top of it. Fixed paths that every kubelet or Calico on a machine uses get a directory of
  the node's own: MicroK8s' node files (/var/snap/microk8s, so /var/lib/calico,
  /etc/cni/net.d and /opt/cni/bin with it), /run/calico (the IPAM plugin's lock),
  /var/lib/kubelet/device-plugins (the kubelet's socket) and /run/xtables.lock.

Every step is recorded in the journal before it is made (see state.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shlex
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tools.cluster.local import guard, settings
from tools.cluster.local.network import run
from tools.cluster.local.settings import Layout, Node
from tools.cluster.local.state import Entry, record

# Host paths that each node sees a directory (or file) of its own at, and the node path that
# goes there (a NodePaths attribute). /var/snap/microk8s is a link to the state directory's
# snap/ while the cluster runs: the node's snap/ goes over that directory.
RUN_CALICO = Path("/run/calico")
DEVICE_PLUGINS = Path("/var/lib/kubelet/device-plugins")
XTABLES_LOCK = Path("/run/xtables.lock")
FIXED_DIRS = (RUN_CALICO, DEVICE_PLUGINS)
FIXED_FILES = (XTABLES_LOCK,)


def enter(layout: Layout, node: Node) -> list[str]:
    """The prefix that runs a command inside the node (both namespaces); empty for the
    first node, which is the machine itself."""
    if node.is_host:
        return []
    return ["nsenter", f"--net={layout.netns(node)}", f"--mount={layout.mntns(node)}", "--"]


def enter_network(layout: Layout, node: Node) -> list[str]:
    """The prefix that runs a command in the node's network namespace only."""
    if node.is_host:
        return []
    return ["nsenter", f"--net={layout.netns(node)}", "--"]


def mount_script(layout: Layout, node: Node) -> str:
    """What runs first inside the node's new mount namespace (a pure function)."""
    paths = layout.node(node)
    aside = shlex.quote(str(paths.cgroup_aside))
    binds = [
        (paths.snap, layout.snap),
        (paths.run_calico, RUN_CALICO),
        (paths.device_plugins, DEVICE_PLUGINS),
        (paths.xtables_lock, XTABLES_LOCK),
    ]
    lines = [
        "set -e",
        # sysfs shows the interfaces of the network namespace that mounts it.
        f"mount --rbind /sys/fs/cgroup {aside}",
        "mount -t sysfs sysfs /sys",
        f"mount --move {aside} /sys/fs/cgroup",
        *(f"mount --bind {shlex.quote(str(a))} {shlex.quote(str(b))}" for a, b in binds),
        # The namespaces' files (other nodes', and this node's network) need not be seen here:
        # a copy of their mounts would keep those namespaces alive.
        f"umount -l {shlex.quote(str(layout.namespaces))}",
    ]
    return "\n".join(lines) + "\n"


def _host_mount_points(layout: Layout) -> None:
    """The fixed host paths the nodes mount over must exist: made (and recorded) if absent."""
    for directory in FIXED_DIRS:
        if directory.exists():
            continue
        parents = [str(p) for p in directory.parents if not p.exists()]
        record(layout, Entry("dir", {"path": str(directory), "parents": parents, "files": []}))
        directory.mkdir(parents=True)
    for path in FIXED_FILES:
        if path.exists():
            continue
        record(layout, Entry("file", {"path": str(path)}))
        path.touch()


def _namespace_dir(layout: Layout) -> None:
    """A private mount for the namespace files (`unshare` refuses to bind a namespace on a
    shared mount); unmounted by `down` with everything under the state directory."""
    directory = layout.namespaces
    directory.mkdir(parents=True, exist_ok=True)
    mounted = run(["findmnt", "-n", "-o", "TARGET", "--mountpoint", str(directory)], check=False)
    if mounted.stdout.strip() != str(directory):
        run(["mount", "--bind", str(directory), str(directory)])
    run(["mount", "--make-private", str(directory)])


def create(layout: Layout, node: Node, gateway: str) -> None:
    """Make the node's namespaces, its link to the nodes' bridge, its routes (the default one
    to `gateway`, the first node) and guard."""
    paths = layout.node(node)
    record(
        layout,
        Entry(
            "node",
            {
                "name": node.name,
                "index": node.index,
                "ip": node.ip,
                "netns": str(layout.netns(node)),
                "mntns": str(layout.mntns(node)),
            },
        ),
    )
    for directory in (
        paths.config, paths.snap_data, paths.snap_common, paths.cni_conf, paths.cni_bin,
        paths.snap_data / "var/lib/calico", paths.run_calico, paths.device_plugins,
        paths.cgroup_aside,
    ):  # fmt: skip
        directory.mkdir(parents=True, exist_ok=True)
    paths.xtables_lock.touch()
    _host_mount_points(layout)
    _namespace_dir(layout)

    netns = layout.netns(node)
    netns.touch()
    run(["unshare", f"--net={netns}", "true"])
    net = enter_network(layout, node)
    port = node.host_port
    record(layout, Entry("link", {"name": port}))
    run(["ip", "link", "add", port, "type", "veth", "peer", "name", settings.NODE_LINK,
         "netns", str(netns)])  # fmt: skip
    run(["ip", "link", "set", port, "master", settings.NODE_LINK, "addrgenmode", "none", "up"])
    link = settings.NODE_LINK
    run([*net, "ip", "link", "set", "lo", "up"])
    run([*net, "ip", "link", "set", link, "addrgenmode", "none"])
    run([*net, "ip", "addr", "add", f"{node.ip}/{settings.NODE_PREFIX}", "dev", link])
    run([*net, "ip", "link", "set", link, "up"])
    run([*net, "ip", "route", "add", "default", "via", gateway, "dev", link])
    guard.install_in(net, node.ip)

    mntns = layout.mntns(node)
    mntns.touch()
    run([*net, "unshare", f"--mount={mntns}", "--propagation", "slave",
         "sh", "-c", mount_script(layout, node)])  # fmt: skip


_T = TypeVar("_T")
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
CLONE_NEWNET = 0x40000000


def in_network(layout: Layout, node: Node, work: Callable[[], _T]) -> _T:
    """Run `work` in a thread that has joined the node's network namespace (a network
    namespace belongs to a thread, not to the process): the sockets it opens are the node's.
    The first node's work runs as it is."""
    if node.is_host:
        return work()
    result: list[_T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(layout.netns(node), os.O_RDONLY)
            try:
                if _LIBC.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {layout.netns(node)}")
            finally:
                os.close(fd)
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"in-{node.name}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def recorded(layout: Layout, entries: Sequence[Entry]) -> list[Node]:
    """The nodes beyond the first that the journal says `up` began to make."""
    return [
        Node(int(e.data["index"]), e.data["name"], e.data["ip"])
        for e in entries
        if e.kind == "node"
    ]
