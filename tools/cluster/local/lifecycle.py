"""The local cluster's lifecycle: `up`, `down`, `status`.

`up` is idempotent: when the cluster already runs and answers, it prints the status and
returns at once. When some components have died but the rest runs, it starts those again,
alone (the cluster's workloads stay), and waits for the cluster to be ready. Otherwise it
checks the host, builds what is missing (cached), then starts the components as soon as what
each one needs is ready, and returns only when every node is Ready with calico-node Ready on
it, and CoreDNS answers through the kube-dns ClusterIP, from the first node and from each
other one (so through the VXLAN tunnel between nodes): an address for
kubernetes.default.svc.cluster.local, NXDOMAIN for a name outside the cluster (forwarded to
the local upstream DNS, see upstream_dns.py). Any failure stops every started component and
undoes every change (`down`), then reports the failing component with the end of its log.

`status` says what runs; its exit status (`status_code`) is 0 when the cluster runs and
answers, 1 when something is down, 3 when there is no cluster (as LSB init scripts do).

Nodes: the first is this machine itself (the control plane runs there too); each other one is
a pair of namespaces with its own containerd, kubelet, kube-proxy and calico-node (nodes.py).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.cluster.contract import Capability, ClusterInfo, ProviderKind, detected
from tools.cluster.local import (
    addons,
    calico,
    cgroups,
    components,
    guard,
    kubeconfig,
    network,
    nodes,
    pki,
    preflight,
    settings,
    state,
    supervisor,
    teardown,
    upstream_dns,
)
from tools.cluster.local.apiclient import ApiError, Client
from tools.cluster.local.dnsclient import DnsError, resolve_a
from tools.cluster.local.settings import Layout, Node
from tools.cluster.local.state import Entry
from tools.cluster.local.supervisor import ComponentFailed, Supervisor

Progress = Callable[[str], None]
REPO_ROOT = Path(__file__).resolve().parents[3]
LOCK_FILE = Path("/run/lock/reseau-k8s-local.lock")
DNS_NAME = f"kubernetes.default.svc.{settings.CLUSTER_DOMAIN}"
CAPABILITIES = frozenset({Capability.NODE_SHELL, Capability.MICROK8S_PATHS})

# Sysctls a component may change (Felix sets ip_forward; the kubelet sets its "kernel
# tunables"; kube-proxy may set route_localnet): recorded so that `down` restores them.
WATCHED_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
# Where the kubelet, containerd and the Calico CNI plugin write outside the state directory
# (hard-coded paths: the kubelet's log links, containerd's shim sockets, libcni's result
# cache, the Calico IPAM plugin's host-wide lock, the kubelet's device-plugin socket), with
# the files left there to remove too.
OUTSIDE_DIRS: dict[Path, tuple[str, ...]] = {
    Path("/var/log/containers"): (),
    Path("/run/containerd/s"): (),
    Path("/var/lib/cni/results"): (),
    calico.IPAM_LOCK.parent: (calico.IPAM_LOCK.name,),
    nodes.DEVICE_PLUGINS: ("kubelet.sock",),
}
# Host paths calico-node mounts that this machine may lack (no loadable modules here): made
# by `up`, removed by `down` when it made them.
HOST_PATHS = (Path("/lib/modules"),)


class Clock:
    """Prints progress lines prefixed with the time since `up` started."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def __call__(self, message: str) -> None:
        self.progress(f"[{self.elapsed():5.1f}s] {message}")


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One lifecycle operation at a time (several helpers may run `up` at once)."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _layout() -> Layout:
    return Layout(settings.state_dir())


def _admin(layout: Layout, node_ip: str, timeout: float = 2.0) -> Client:
    bundle = pki.load(layout.pki, node_ip)
    return Client(
        settings.apiserver_url(node_ip),
        bundle.ca_cert,
        bundle.cert("admin"),
        bundle.key("admin"),
        timeout,
    )


# --- readiness --------------------------------------------------------------------------


def _wait(
    what: str,
    component: str,
    ready: Callable[[], bool],
    sup: Supervisor,
    layout: Layout,
    timeout: float,
    pollers: tuple[Callable[[], None], ...] = (),
) -> None:
    """Poll `ready` every 50 ms while checking that no component has exited."""
    deadline = time.monotonic() + timeout
    while True:
        sup.check()
        for poll in pollers:
            poll()
        if ready():
            return
        if time.monotonic() > deadline:
            raise ComponentFailed(
                component, f"{what}: not ready after {timeout:.0f} s", layout.log(component)
            )
        time.sleep(0.05)


def _etcd_healthy(layout: Layout, node_ip: str) -> Callable[[], bool]:
    bundle = pki.load(layout.pki, node_ip)
    client = Client(
        f"https://{settings.LOOPBACK}:{settings.ETCD_CLIENT_PORT}",
        bundle.ca_cert,
        bundle.cert("apiserver-etcd-client"),
        bundle.key("apiserver-etcd-client"),
        timeout=1.0,
    )

    def check() -> bool:
        try:
            return json.loads(client.get("/health")).get("health") == "true"
        except (OSError, ApiError, ValueError):
            return False

    return check


def _api_ready(client: Client) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return client.get("/readyz").strip() == "ok"
        except (OSError, ApiError):
            return False

    return check


def _nodes_ready(client: Client, names: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        for name in names:
            try:
                node = client.get_json(f"/api/v1/nodes/{name}")
            except (OSError, ApiError, ValueError):
                return False
            conditions = node.get("status", {}).get("conditions", [])
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                return False
        return True

    return check


def _dns_answers() -> bool:
    """CoreDNS answers a cluster name, and `forward` brings NXDOMAIN back from the upstream
    for a name outside the cluster (SERVFAIL if the upstream cannot be reached)."""
    try:
        if resolve_a(DNS_NAME, settings.DNS_SERVICE_IP, timeout=0.5) != [
            settings.KUBERNETES_SERVICE_IP
        ]:
            return False
    except DnsError:
        return False
    return _nxdomain(settings.DNS_SERVICE_IP)


def _nxdomain(server: str) -> bool:
    """`server` answers NXDOMAIN for the upstream's probe name."""
    try:
        resolve_a(upstream_dns.PROBE_NAME, server, timeout=0.5)
    except DnsError as exc:
        return exc.rcode == "NXDOMAIN"
    return False


def _dns_answers_on(layout: Layout, node: Node) -> Callable[[], bool]:
    """CoreDNS (on the first node) answers a query sent from `node`: its kube-proxy
    translated the ClusterIP, Calico carried the packet through the VXLAN tunnel."""
    return lambda: nodes.in_network(layout, node, _dns_answers)


def _proxy_synced() -> bool:
    return "KUBE-SERVICES" in network.chains("nat")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((settings.LOOPBACK, 0))
        return sock.getsockname()[1]


# --- up ---------------------------------------------------------------------------------


def _record_outside_dirs(layout: Layout) -> None:
    """Directories the kubelet/containerd create outside the state (removed if we made them),
    with the files they leave there, and the host paths calico-node needs, made here.

    The files are ours whether or not they exist now: preflight refused a live one (another
    kubelet's socket, another Calico's lock), so one that exists is a stale leftover that our
    components replace at start."""
    for directory in (*OUTSIDE_DIRS, *HOST_PATHS):
        files = list(OUTSIDE_DIRS.get(directory, ()))
        created = not directory.exists()
        if not created and not files:
            continue
        parents = [str(p) for p in directory.parents if not p.exists()]
        state.record(
            layout,
            Entry(
                "dir",
                {"path": str(directory), "parents": parents, "files": files, "created": created},
            ),
        )
        if directory in HOST_PATHS and created:
            directory.mkdir(parents=True)


def _link_microk8s_paths(layout: Layout) -> None:
    """/var/snap/microk8s -> the state's snap/ (current = SNAP_DATA, common = SNAP_COMMON), and
    the links MicroK8s' install hook makes when the paths are free (the Calico CNI plugin reads
    its MTU from /var/lib/calico/mtu, whatever its configuration says).

    Calico's manifests, its CNI configuration and the pages name MicroK8s' node paths; the
    files stay in the state directory, removed by `down` with the links.
    """
    calico_state = layout.snap_data / "var/lib/calico"
    for directory in (
        layout.snap_data, layout.snap_common, layout.cni_conf, layout.cni_bin, calico_state,
    ):  # fmt: skip
        directory.mkdir(parents=True, exist_ok=True)
    _symlink(layout, settings.MICROK8S_SNAP_LINK, layout.snap, required=True)
    snap_data = settings.MICROK8S_SNAP_LINK / "current"
    for path, target in calico.MICROK8S_HOST_LINKS.items():
        _symlink(layout, path, snap_data / target, required=False)


def _symlink(layout: Layout, path: Path, target: Path, required: bool) -> None:
    """Link `path` to `target` (recorded first); an existing `path` is left alone, or refused
    when the link is `required` (preflight has checked that it is free)."""
    if path.exists() or path.is_symlink():
        if required:
            raise preflight.PreflightError(f"{path} exists: the local cluster needs it free")
        return
    parents = [str(p) for p in path.parents if not p.exists()]
    state.record(
        layout, Entry("symlink", {"path": str(path), "target": str(target), "parents": parents})
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _prepare_host(layout: Layout, all_nodes: list[Node], registry_port: int) -> None:
    """Network, guard, MicroK8s' paths, cgroups, then the other nodes' namespaces: each
    recorded before it is made."""
    node_ip = all_nodes[0].ip
    for key in WATCHED_SYSCTLS:
        network.remember_sysctl(layout, key)
    network.create_node_link(layout, node_ip)
    guard.install(layout, node_ip, registry_port)
    _link_microk8s_paths(layout)
    # Made by Calico (interfaces, routes, ipsets), then by kube-proxy, portmap and Felix
    # (iptables): recorded before they exist, undone in the reverse order (chains first, so
    # that the ipsets they use can go).
    state.record(layout, Entry("calico", {}))
    state.record(
        layout,
        Entry(
            "chain-prefixes",
            {
                "prefixes": list(network.CLUSTER_CHAIN_PREFIXES),
                "markers": list(network.CLUSTER_RULE_MARKERS),
            },
        ),
    )
    state.record(layout, Entry("cgroup", {"name": components.CGROUP_ROOT}))
    for node in all_nodes:
        cgroups.create(components.cgroup_root(node))
    _record_outside_dirs(layout)
    for node in all_nodes[1:]:
        nodes.create(layout, node, gateway=node_ip)


def _start(
    layout: Layout, node_ip: str, clock: Clock, versions: dict[str, str], count: int
) -> None:
    # Imported here: the build and image modules are only needed when a cluster is created.
    from tools.cluster.local import build, images, registry

    all_nodes = settings.nodes(count, node_ip)
    others = all_nodes[1:]
    binaries = build.ensure_binaries(lambda line: clock(line.strip()))
    versions.update(binaries.versions)
    clock(f"binaries in {binaries.bin_dir}")
    # The image store is only needed once containerd pulls: checked (or built) meanwhile.
    store_future = _background(lambda: images.ensure_images(lambda line: clock(line.strip())))
    preflight.check_network(node_ip)

    state.create_root(layout)
    certs = pki.generate(layout.pki, node_ip, all_nodes)
    kubeconfig.write_all(layout.kubeconfigs, settings.apiserver_url(node_ip), certs, all_nodes)
    runc = shutil.which("runc")
    if runc is None:
        raise preflight.PreflightError("runc is missing (Debian package runc)")
    ctx = components.Context(
        layout=layout,
        pki=certs,
        node_ip=node_ip,
        bin_dir=binaries.bin_dir,
        runc=Path(runc),
        pause_image=images.PAUSE_IMAGE,
    )
    for node in all_nodes:
        components.write_configs(ctx.for_node(node))
    calico_objects = calico.load_objects(binaries.upstream("calico", "manifests/calico.yaml"))
    registry_port = _free_port()
    # The registry listens on the first node's address, which every node reaches.
    for host, content in registry.hosts_toml(registry_port, node_ip).items():
        path = layout.registry_hosts / host / "hosts.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    clock("certificates, kubeconfigs and configurations written")

    _prepare_host(layout, all_nodes, registry_port)
    # What MicroK8s keeps in args/cni-network (the manifest it applied), on each node.
    for node in all_nodes:
        (layout.node(node).cni_conf / "cni.yaml").write_text(calico.manifest_text(calico_objects))
    clock(
        f"node address {node_ip} on {settings.NODE_LINK}, guard table in place"
        + "".join(f"; node {n.name} at {n.ip}" for n in others)
    )

    sup = Supervisor(layout)
    sup.start("etcd", components.etcd_argv(ctx))
    for node in all_nodes:
        _start_on(sup, layout, node, "containerd", components.containerd_argv(ctx.for_node(node)))
    sup.start(upstream_dns.NAME, upstream_dns.argv(ctx.bin("coredns"), layout))
    clock(
        "started etcd, containerd"
        + (f" (on {len(all_nodes)} nodes)" if others else "")
        + f", {upstream_dns.NAME}"
    )

    _wait("etcd health", "etcd", _etcd_healthy(layout, node_ip), sup, layout, 30)
    sup.start("kube-apiserver", components.apiserver_argv(ctx))
    clock("etcd healthy; started kube-apiserver")
    _wait(
        f"NXDOMAIN from {node_ip}:{upstream_dns.PORT}", upstream_dns.NAME,
        lambda: _nxdomain(node_ip), sup, layout, 30,
    )  # fmt: skip
    clock(f"{upstream_dns.NAME} answers NXDOMAIN at {node_ip}:{upstream_dns.PORT}")

    store = store_future.result()
    # `python -m tools.cluster.local.registry`, from the repository (where -m finds it).
    sup.start("registry", registry.registry_command(store, registry_port, node_ip), cwd=REPO_ROOT)
    # Pull the images every pod needs while the apiserver starts: the first node runs
    # Calico's controllers and CoreDNS too, the others calico-node only.
    node_images = [images.PAUSE_IMAGE, *calico.images(calico_objects, daemonsets_only=True)]
    pulls = [
        _start_prepull(
            ctx, [images.PAUSE_IMAGE, *calico.images(calico_objects), images.COREDNS_IMAGE]
        ),
        *(_start_prepull(ctx.for_node(node), node_images) for node in others),
    ]
    clock(f"images in {store}; started the registry and the pre-pull")

    admin = _admin(layout, node_ip)
    _wait("readyz", "kube-apiserver", _api_ready(admin), sup, layout, 120)
    sup.start("kube-controller-manager", components.controller_manager_argv(ctx))
    sup.start("kube-scheduler", components.scheduler_argv(ctx))
    for node in all_nodes:
        node_ctx = ctx.for_node(node)
        _start_on(sup, layout, node, "kube-proxy", components.kube_proxy_argv(node_ctx))
        _start_on(sup, layout, node, "kubelet", components.kubelet_argv(node_ctx))
    clock("kube-apiserver ready; started controller-manager, scheduler, kube-proxy, kubelet")
    for obj in [addons.kubelet_api_binding(), *calico_objects]:
        if not calico.on_pod_network(obj):
            admin.create(obj)
    clock("Calico applied")

    _wait("iptables rules", "kube-proxy", _proxy_synced, sup, layout, 60)
    # A node turns Ready once Calico's install-cni has written its CNI configuration.
    names = [n.name for n in all_nodes]
    _wait_pods("nodes Ready", "kubelet", _nodes_ready(admin, names), sup, layout, admin, 120)
    clock(f"{' and '.join(names)} Ready (Calico's CNI configuration installed)")
    # A pod on the pod network created before calico-node has written the node name and the
    # IP pool fails its first network set-up, and the kubelet retries it only after a back-off
    # of ten seconds or more: calico-kube-controllers and CoreDNS wait for them (MicroK8s'
    # dns addon comes after its Calico too).
    _wait_pods(
        "Calico's node name and IP pool", "calico-node", _calico_started(admin, layout),
        sup, layout, admin, 120,
    )  # fmt: skip
    late = [o for o in calico_objects if calico.on_pod_network(o)]
    for obj in [*late, *addons.coredns_objects(images.COREDNS_IMAGE)]:
        admin.create(obj)
    clock("calico-node started (node name, IP pool); calico-kube-controllers, CoreDNS applied")
    _wait_pods(
        "calico-node Ready", "calico-node", _calico_ready(admin, len(all_nodes)),
        sup, layout, admin, 120,
    )  # fmt: skip
    clock("calico-node Ready" + (f" on {len(all_nodes)} nodes" if others else ""))
    for pull in pulls:
        _finish_prepull(pull, layout)
    _wait_pods(
        f"a pod address from a /{calico.BLOCK_PREFIX} block",
        "coredns",
        _address_from_block(admin),
        sup,
        layout,
        admin,
        120,
    )
    clock(f"CoreDNS has an address from a /{calico.BLOCK_PREFIX} block of the node")
    try:
        _wait(f"DNS answer for {DNS_NAME}", "coredns", _dns_answers, sup, layout, 120)
        for node in others:
            _wait(
                f"DNS answer for {DNS_NAME} from {node.name}", "coredns",
                _dns_answers_on(layout, node), sup, layout, 60,
            )  # fmt: skip
    except ComponentFailed as failure:
        if failure.component != "coredns":
            raise
        raise ComponentFailed(
            "coredns",
            f"{failure.args[0].splitlines()[0]}: no address for {DNS_NAME} or no NXDOMAIN for "
            f"{upstream_dns.PROBE_NAME} (forwarded to {upstream_dns.NAME}) "
            f"({_coredns_state(admin)})",
            _coredns_log(layout),
        ) from None  # fmt: skip
    clock(
        f"CoreDNS answers {DNS_NAME} at {settings.DNS_SERVICE_IP}, and NXDOMAIN from "
        f"{upstream_dns.NAME} for {upstream_dns.PROBE_NAME}"
        + (", from every node" if others else "")
    )

    server_version = admin.get_json("/version")["gitVersion"]
    state.write_info(
        layout,
        {
            "kubeconfig": str(layout.admin_kubeconfig),
            "server_version": server_version,
            "node_name": settings.NODE_NAME,
            "node_ip": node_ip,
            "nodes": [{"name": n.name, "ip": n.ip} for n in all_nodes],
            "registry": f"http://{node_ip}:{registry_port}",
            "versions": versions,
            "bin_dir": str(binaries.bin_dir),
            "images": str(store),
            "up_seconds": round(clock.elapsed(), 1),
        },
    )


def process_name(component: str, node: Node) -> str:
    """The name a node's component is recorded under: `kubelet`, `kubelet@reseau-k8s-2`."""
    return component if node.is_host else f"{component}@{node.name}"


def _start_on(sup: Supervisor, layout: Layout, node: Node, component: str, argv: list[str]) -> None:
    """Start one of a node's programs inside that node."""
    sup.start(process_name(component, node), argv, enter=nodes.enter(layout, node))


def _kube_system_pods(admin: Client, selector: str) -> list[dict[str, Any]]:
    return admin.get_json(f"/api/v1/namespaces/kube-system/pods?labelSelector={selector}")["items"]


def _calico_ready(admin: Client, count: int) -> Callable[[], bool]:
    """calico-node is Ready on `count` nodes."""

    def check() -> bool:
        try:
            pods = _kube_system_pods(admin, calico.NODE_LABEL)
        except (OSError, ApiError, ValueError):
            return False
        return sum(calico.pod_ready(pod) for pod in pods) >= count

    return check


def _calico_started(admin: Client, layout: Layout) -> Callable[[], bool]:
    """calico-node's start-up has run: the node name file the CNI plugin reads, and the pool."""
    nodename = layout.snap_data / "var/lib/calico/nodename"

    def check() -> bool:
        if not nodename.is_file():
            return False
        try:
            admin.get_json(f"/apis/crd.projectcalico.org/v1/ippools/{calico.POOL_NAME}")
        except (OSError, ApiError, ValueError):
            return False
        return True

    return check


def _address_from_block(admin: Client) -> Callable[[], bool]:
    """CoreDNS runs with an address inside a block that Calico's IPAM gave this node."""

    def check() -> bool:
        try:
            pods = _kube_system_pods(admin, settings.COREDNS_LABEL)
            addresses = [p["status"].get("podIP", "") for p in pods if p.get("status")]
            if not any(addresses):
                return False
            blocks = admin.get_json("/apis/crd.projectcalico.org/v1/blockaffinities")["items"]
        except (OSError, ApiError, ValueError, KeyError):
            return False
        return any(calico.address_in_block(a, blocks, settings.NODE_NAME) for a in addresses)

    return check


def _wait_pods(
    what: str,
    component: str,
    ready: Callable[[], bool],
    sup: Supervisor,
    layout: Layout,
    admin: Client,
    timeout: float,
) -> None:
    """`_wait`; on time-out, also say what the kube-system pods are doing, and quote the
    log of the pod named `component` when it is a pod rather than a process of ours."""
    deadline = time.monotonic() + timeout
    try:
        _wait(what, component, ready, sup, layout, timeout)
    except ComponentFailed as failure:
        if failure.component != component or time.monotonic() < deadline:
            raise  # another component exited: its own log says why
        processes = {r.name for r in supervisor.records(layout)}
        log = failure.log if component in processes else _pod_log(layout, component)
        raise ComponentFailed(
            component, f"{what}: not ready after {timeout:.0f} s (pods: {_pods_state(admin)})",
            log,
        ) from None  # fmt: skip


def _pods_state(admin: Client, selector: str = "") -> str:
    """One line per kube-system pod (phase, readiness, waiting reasons) for an error message."""
    try:
        pods = _kube_system_pods(admin, selector)
    except (OSError, ApiError, ValueError) as exc:
        return f"pods unreadable: {exc}"
    if not pods:
        return "no pod was created"
    return _describe_pods(pods)


def _coredns_state(admin: Client) -> str:
    """One line on the CoreDNS pods (phase, readiness, waiting reasons) for an error message."""
    try:
        pods = _kube_system_pods(admin, settings.COREDNS_LABEL)
    except (OSError, ApiError, ValueError) as exc:
        return f"pods unreadable: {exc}"
    if not pods:
        return "no CoreDNS pod was created"
    return _describe_pods(pods)


def _describe_pods(pods: list[dict[str, Any]]) -> str:
    described = []
    for pod in pods:
        status = pod.get("status", {})
        containers = status.get("initContainerStatuses", []) + status.get("containerStatuses", [])
        waiting = [
            f"{c['name']} {c['state']['waiting'].get('reason', '')}"
            for c in containers
            if "waiting" in c.get("state", {})
        ]
        ready = [c["status"] for c in status.get("conditions", []) if c["type"] == "Ready"]
        described.append(
            f"pod {pod['metadata']['name']}: {status.get('phase')}, ready={ready or '?'}"
            + (f", waiting: {', '.join(waiting)}" if waiting else "")
        )
    return "; ".join(described)


def _pod_log(layout: Layout, name: str) -> Path | None:
    """The newest log of container `name` of a kube-system pod named `name-…`, if any."""
    logs = sorted(
        layout.pod_logs.glob(f"kube-system_{name}-*/{name}/*.log"), key=lambda p: p.stat().st_mtime
    )
    return logs[-1] if logs else None


def _coredns_log(layout: Layout) -> Path | None:
    return _pod_log(layout, "coredns")


def _background(work: Callable[[], Path]) -> concurrent.futures.Future[Path]:
    """Run `work` in a thread; `.result()` returns its value or raises its exception."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = executor.submit(work)
    executor.shutdown(wait=False)
    return future


def _start_prepull(ctx: components.Context, refs: list[str]) -> subprocess.Popen[bytes] | None:
    """`ctr images pull` of `refs` into the node's containerd, in the background, once it
    answers (ctr fetches them itself, from this machine, and hands them over by the socket)."""
    socket_path = ctx.paths.containerd_socket
    deadline = time.monotonic() + 10
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not socket_path.exists():
        return None  # containerd is late: the kubelet will pull them itself
    pulls = [
        f"{ctx.bin('ctr')} --address {socket_path} --namespace k8s.io "
        f"images pull --hosts-dir {ctx.layout.registry_hosts} --local {ref} >/dev/null"
        for ref in refs
    ]
    # The registry was started just before: the first pull is retried until it answers (a
    # few tenths of a second), then the others go in parallel.
    first, rest = pulls[0], pulls[1:]
    script = (
        f"i=0; until {first} 2>/dev/null; do i=$((i+1)); "
        "[ $i -ge 100 ] && exit 1; sleep 0.1; done; "
        + "".join(f"{pull} & " for pull in rest)
        + "wait"
    )
    with open(ctx.layout.log(process_name("prepull", ctx.this_node)), "ab") as log:
        return subprocess.Popen(
            ["sh", "-c", script], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _finish_prepull(pull: subprocess.Popen[bytes] | None, layout: Layout) -> None:
    if pull is None or pull.poll() is not None:
        return
    # Still pulling (the kubelet pulls what it needs meanwhile): give it a little longer.
    try:
        pull.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pull.pid, 9)
        pull.wait()


def up(progress: Progress = print, nodes: int | None = None) -> ClusterInfo:
    """Start the local cluster with `nodes` nodes (default: DEFAULT_NODES), or return the
    running one (whatever its number of nodes, unless `nodes` asks another); see the module
    docstring."""
    clock = Clock(progress)
    layout = _layout()
    preflight.check_host()  # root on Linux before anything, even the lock
    count = settings.DEFAULT_NODES if nodes is None else nodes
    node_ip = settings.node_ip()
    settings.nodes(count, node_ip)  # a wrong number is refused before anything is touched
    with _lock():
        health = check(layout)
        running = health.cluster
        if running is not None and nodes is not None and running.nodes != nodes:
            clock(f"the running cluster has {running.nodes} nodes, {nodes} asked: restarting it")
            problems = teardown.down(layout, clock)
            if problems:
                raise RuntimeError("cannot stop the running cluster:\n  " + "\n  ".join(problems))
            health = check(layout)
        if health.cluster is not None:
            for line in status_lines(layout, health):
                progress(line)
            return health.cluster
        if health.dead and health.restartable:
            try:
                return _restart(layout, health, clock)
            except (ComponentFailed, OSError, RuntimeError, ValueError) as exc:
                first = str(exc).splitlines()[0]
                clock(f"restarting did not bring the cluster back ({first}): starting afresh")
        if layout.root.exists():
            clock(f"{layout.root} holds a cluster that {health.problem()}: tearing it down first")
            problems = teardown.down(layout, clock)
            if problems:
                raise RuntimeError("cannot clean the previous cluster:\n  " + "\n  ".join(problems))
        versions: dict[str, str] = {}
        try:
            _start(layout, node_ip, clock, versions, count)
        except BaseException:
            if os.environ.get("RESEAU_K8S_KEEP_FAILED"):
                clock("up failed: RESEAU_K8S_KEEP_FAILED is set, leaving it for inspection")
                raise
            clock("up failed: stopping what was started and undoing every change")
            problems = teardown.down(layout, clock)
            for problem in problems:
                clock(f"  cleanup problem: {problem}")
            raise
        cluster = _running_cluster(layout)
        if cluster is None:
            raise RuntimeError("the cluster started but does not answer")
        clock(f"ready in {clock.elapsed():.1f} s; kubeconfig: {cluster.kubeconfig}")
        return cluster


def _restart(layout: Layout, health: Health, clock: Clock) -> ClusterInfo:
    """Start the dead components again, alone, and wait until the cluster is ready."""
    clock(f"not running: {', '.join(health.dead)}; starting {_them(health.dead)} again "
          "(the rest of the cluster and its workloads stay)")  # fmt: skip
    info = state.read_info(layout) or {}
    node_ip = str(info["node_ip"])
    sup = Supervisor(layout)
    # In the order `up` starts them: what each one needs first.
    for name in sorted(health.dead, key=_start_rank):
        sup.restart(name)
        clock(f"started {name}")
        if name == "etcd":
            _wait("etcd health", "etcd", _etcd_healthy(layout, node_ip), sup, layout, 30)
    admin = _admin(layout, node_ip)
    _wait("readyz", "kube-apiserver", _api_ready(admin), sup, layout, 120)
    listed = info.get("nodes") or [{"name": settings.NODE_NAME}]
    names = [str(n["name"]) for n in listed]
    _wait("nodes Ready", "kubelet", _nodes_ready(admin, names), sup, layout, 120)
    _wait("iptables rules", "kube-proxy", _proxy_synced, sup, layout, 60)
    _wait_pods(
        "calico-node Ready", "calico-node", _calico_ready(admin, len(names)),
        sup, layout, admin, 120,
    )  # fmt: skip
    _wait(f"DNS answer for {DNS_NAME}", "coredns", _dns_answers, sup, layout, 120)
    cluster = _running_cluster(layout)
    if cluster is None:
        raise RuntimeError("the restarted cluster does not answer")
    clock(f"ready again in {clock.elapsed():.1f} s; kubeconfig: {cluster.kubeconfig}")
    return cluster


_START_ORDER = (
    "etcd",
    "containerd",
    "upstream-dns",
    "kube-apiserver",
    "registry",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
    "kubelet",
)


def _start_rank(name: str) -> int:
    component = name.partition("@")[0]  # `kubelet@reseau-k8s-2`: a node's kubelet
    return _START_ORDER.index(component) if component in _START_ORDER else len(_START_ORDER)


def _them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


@dataclass
class Health:
    """What `check` found: the cluster if it runs and answers, else what is wrong."""

    exists: bool  # a state directory is there
    cluster: ClusterInfo | None = None
    dead: list[str] = field(default_factory=list)  # recorded components not running
    answered: bool | None = None  # did the API server answer (None: not asked)
    restartable: bool = False  # every dead component can be started again alone

    def problem(self) -> str:
        if self.dead:
            return f"is missing {', '.join(self.dead)}"
        if self.answered is False:
            return "does not answer (its API server is not ready)"
        return "is incomplete (an interrupted `up`?)"

    @property
    def code(self) -> int:
        if not self.exists:
            return 3
        return 0 if self.cluster is not None else 1


def check(layout: Layout, patience: float = 20.0) -> Health:
    """Which components run, whether the API server answers, the cluster if all is well."""
    if not layout.root.exists():
        return Health(exists=False)
    info = state.read_info(layout)
    recorded = supervisor.records(layout)
    alive = supervisor.running(layout)
    dead = sorted({r.name for r in recorded} - set(alive), key=_start_rank)
    health = Health(exists=True, dead=dead)
    if info is None or not recorded:
        return health  # an `up` that did not finish: nothing to start again from
    health.restartable = all(supervisor.restartable(layout, name) for name in dead)
    if "kube-apiserver" in dead or "etcd" in dead:
        return health
    # The API server runs: give a busy one (a doctest in full swing on two cores) time to
    # answer before calling the cluster broken, since `up` would then rebuild it.
    admin = _admin(layout, info["node_ip"], timeout=5.0)
    ready = _api_ready(admin)
    deadline = time.monotonic() + patience
    while not ready():
        if time.monotonic() > deadline:
            health.answered = False
            return health
        time.sleep(0.5)
    health.answered = True
    if not dead:
        health.cluster = _describe(layout, info, admin)
    return health


def _describe(layout: Layout, info: dict[str, Any], admin: Client) -> ClusterInfo | None:
    try:
        nodes = admin.get_json("/api/v1/nodes")["items"]
        daemonsets = admin.get_json("/apis/apps/v1/daemonsets")["items"]
    except (OSError, ApiError, ValueError, KeyError):
        return None
    return detected(
        ProviderKind.LOCAL,
        Path(info["kubeconfig"]),
        server_version=info["server_version"],
        nodes=[n["metadata"]["name"] for n in nodes],
        daemonsets=[d["metadata"]["name"] for d in daemonsets],
        capabilities=CAPABILITIES,
        cni_config_plugin=components.configured_cni_plugin(layout),
    )


def _running_cluster(layout: Layout, patience: float = 20.0) -> ClusterInfo | None:
    """The running cluster described by the state, if every component runs and it answers."""
    return check(layout, patience).cluster


# --- down and status --------------------------------------------------------------------


def down(progress: Progress = print) -> None:
    """Stop the cluster and remove everything it created; raises if something remains."""
    clock = Clock(progress)
    layout = _layout()
    with _lock():
        if not layout.root.exists():
            progress("no local cluster (nothing to do)")
            return
        problems = teardown.down(layout, clock)
        if problems:
            raise RuntimeError("down left things behind:\n  " + "\n  ".join(problems))
        clock("local cluster removed")


def status_lines(layout: Layout | None = None, health: Health | None = None) -> list[str]:
    layout = layout or _layout()
    health = health or check(layout, patience=5.0)
    if not health.exists:
        return ["local cluster: not running"]
    info: dict[str, Any] = state.read_info(layout) or {}
    alive = supervisor.running(layout)
    lines = []
    if health.cluster is not None:
        lines.append(f"local cluster: running ({layout.root})")
    else:
        lines.append(f"local cluster: NOT healthy: it {health.problem()} ({layout.root})")
    for record in supervisor.records(layout):
        mark = f"pid {record.pid}" if record.name in alive else "NOT RUNNING"
        lines.append(f"  {record.name:24} {mark}")
    if health.answered is not None:
        lines.append(f"  API server: {'answers' if health.answered else 'does NOT answer'}")
    if info:
        lines.append(f"  server version: {info.get('server_version')}")
        versions = info.get("versions", {})
        lines.append("  components: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
        listed = info.get("nodes") or [{"name": info.get("node_name"), "ip": info.get("node_ip")}]
        label = "nodes" if len(listed) > 1 else "node"
        lines.append(f"  {label}: " + ", ".join(f"{n['name']} ({n['ip']})" for n in listed))
        lines.append(f"  kubeconfig: {info.get('kubeconfig')}")
    if health.dead:
        lines.append("  `nox -s cluster -- up` starts what is down again")
    return lines


def status() -> tuple[str, int]:
    """The status text and the exit status (see the module docstring)."""
    layout = _layout()
    health = check(layout, patience=5.0)
    return "\n".join(status_lines(layout, health)), health.code
