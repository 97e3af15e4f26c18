"""The network-safety guards are in place while the cluster runs, Calico's chains included.

Checked by inspecting rules, routes, addresses and sockets: never by sending a packet to an
address outside the machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from tests.cluster.kube import Kube, pod
from tests.cluster.nodes import ip_json, layout, running_nodes
from tools.cluster.local import guard, nodes, preflight, settings, state, supervisor, upstream_dns
from tools.cluster.local.dnsclient import DnsError, resolve_a
from tools.cluster.local.settings import Layout

BUSYBOX = "docker.io/library/busybox:latest"

pytestmark = pytest.mark.cluster


def _iptables(*args: str) -> list[list[str]]:
    out = subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=True)
    return [shlex.split(line) for line in out.stdout.splitlines()]


def _registry_port() -> int:
    info = state.read_info(layout()) or {}
    return int(info["registry"].rsplit(":", 1)[1])


def test_guard_table_holds_the_expected_rules(cluster: object) -> None:
    """On the machine, and in every other node's network namespace (with its address)."""
    assert guard.exists()
    for chain, rules in guard.chains(settings.node_ip(), _registry_port()).items():
        assert guard.listed_rules(chain) == rules, chain
    for node in running_nodes()[1:]:
        enter = nodes.enter_network(layout(), node)
        for chain, rules in guard.chains(node.ip).items():
            assert guard.listed_rules(chain, enter) == rules, (node.name, chain)


@pytest.mark.parametrize("hook", ["forward", "input", "output"])
def test_guard_hooks_before_every_iptables_filter_chain(cluster: object, hook: str) -> None:
    """Whatever kube-proxy and Felix insert in the iptables filter table, the guard's base
    chain for the same hook runs first (lower priority): the order of their rules is moot."""
    chains = [c for c in guard.base_chains() if c["hook"] == hook]
    ours = [c for c in chains if c["table"] == guard.TABLE]
    assert [(c["family"], c["name"], c["prio"], c["policy"]) for c in ours] == [
        (guard.FAMILY, hook, guard.PRIORITY, "accept")
    ]
    # iptables-nft's filter chains (where Calico's and kube-proxy's jumps are) come later.
    filters = [c for c in chains if c["family"] in ("ip", "ip6") and c["table"] == "filter"]
    assert filters, f"no iptables filter chain on {hook}"
    assert all(c["prio"] > guard.PRIORITY for c in filters), filters


def test_calico_chains_accept_workload_traffic_after_the_guard(cluster: object) -> None:
    """Felix's chains are there, first in FORWARD, and accept traffic from and to the pods'
    interfaces: an iptables guard placed first by insertion order would have lost to them."""
    forward = [r[2:] for r in _iptables("-S", "FORWARD") if r[0] == "-A"]
    assert forward and forward[0][-2:] == ["-j", "cali-FORWARD"], forward
    calico_accepts = [
        r for r in _iptables("-S") if r[0] == "-A" and r[1].startswith("cali-") and "ACCEPT" in r
    ]
    assert calico_accepts, "Felix accepts nothing? (is Calico running?)"
    # The guard still judges those packets: its forward chain catches the `cali…` interfaces.
    assert 'iifname "cali*" jump pod-forward' in guard.listed_rules("forward")


def test_service_range_is_routed_to_the_cluster_interface(cluster: object) -> None:
    routes = json.loads(
        subprocess.run(
            ["ip", "-j", "route", "show", settings.SERVICE_CIDR],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert [(r["dst"], r["dev"]) for r in routes] == [(settings.SERVICE_CIDR, settings.NODE_LINK)]


def test_node_address_is_only_on_the_cluster_interface(cluster: object) -> None:
    links = json.loads(
        subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True).stdout
    )
    holders = [
        link["ifname"]
        for link in links
        for info in link.get("addr_info", [])
        if info.get("local") == settings.node_ip()
    ]
    assert holders == [settings.NODE_LINK]
    # The nodes' bridge has no port but the other nodes' links: nothing of the machine's own
    # network is plugged into it.
    ports = json.loads(
        subprocess.run(
            ["ip", "-j", "link", "show", "master", settings.NODE_LINK],
            capture_output=True,
            text=True,
        ).stdout
        or "[]"
    )
    assert sorted(p["ifname"] for p in ports) == [n.host_port for n in running_nodes()[1:]]
    assert all(p["link_type"] == "ether" and p.get("link_netnsid") is not None for p in ports)


def test_another_node_routes_only_to_the_nodes_and_its_pods(cluster: object) -> None:
    """A node's only way out is its default route to the first node, whose guard sends
    nothing from the nodes' link anywhere but back onto it (node-forward)."""
    pods = ipaddress.ip_network(settings.POD_CIDR)
    node_range = ipaddress.ip_network(settings.node_range(settings.node_ip()))
    for node in running_nodes()[1:]:
        routes = ip_json(node, "-4", "route", "show", "table", "all")
        assert ip_json(node, "-6", "route", "show", "default") == [], node.name
        others = []
        for route in routes:
            dst = route.get("dst", "")
            if dst == "default":
                assert (route["gateway"], route["dev"]) == (settings.node_ip(), "rk8s0"), route
                continue
            if route.get("table") == "local" or route.get("type") in ("local", "broadcast"):
                continue
            network = ipaddress.ip_network(dst, strict=False)
            if not (network.subnet_of(pods) or network.subnet_of(node_range)):
                others.append(route)
        assert others == [], node.name
        addresses = [
            (link["ifname"], info["local"])
            for link in ip_json(node, "-4", "addr", "show")
            for info in link["addr_info"]
            if link["ifname"] not in ("lo", "vxlan.calico")
        ]
        assert addresses == [("rk8s0", node.ip)]
    forward = guard.listed_rules("node-forward")
    assert forward[-1].startswith(guard.REJECT)
    assert all('oifname "rk8s0"' in r for r in forward if "accept" in r and "ct state" not in r)


def test_masquerading_only_where_expected(cluster: object) -> None:
    """Calico's pool masquerades outgoing traffic (natOutgoing, as on MicroK8s); the guard's
    forward chain rejects such traffic before NAT ever sees it. No other rule masquerades."""
    # kube-proxy's (Service traffic), portmap's (hostPort), Felix's natOutgoing and its
    # masquerade of the host's own traffic into the VXLAN tunnel.
    expected = ("KUBE-POSTROUTING", "CNI-HOSTPORT-MASQ", "cali-nat-outgoing", "cali-POSTROUTING")
    for rule in _iptables("-t", "nat", "-S"):
        if rule[0] == "-A" and "MASQUERADE" in rule:
            assert rule[1] in expected, rule
    assert guard.listed_rules("pod-forward")[-1].startswith(guard.REJECT)


def _listening(pids: set[int]) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets listened on by `pids` (each read in the network
    namespace of its process: /proc/PID/net)."""
    inodes: dict[str, tuple[str, int]] = {}
    for pid in pids:
        for table in (f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == preflight.LISTEN:
                    address = preflight.listeners(f"header\n{line}")
                    inodes[fields[9]] = next(iter(address))
    found = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = target[len("socket:[") : -1]
                if inode in inodes:
                    found.add(inodes[inode])
    return found


def test_components_listen_on_loopback_or_the_node_address_only(cluster: object) -> None:
    """Every node's components: on loopback or their own node's address."""
    layout = Layout(settings.state_dir())
    running = supervisor.running(layout)
    assert running, "no component runs"
    for node in running_nodes():
        ours = {
            pid
            for name, pid in running.items()
            if name.partition("@")[2] == ("" if node.index == 1 else node.name)
        }
        allowed = {settings.LOOPBACK, node.ip}
        sockets = _listening(ours)
        assert sockets, f"no listening socket found on {node.name}"
        outside = sorted(s for s in sockets if s[0] not in allowed)
        assert outside == [], f"{node.name}: listening beyond loopback and {node.ip}: {outside}"
    etcd = _listening({running["etcd"]})
    assert {a for a, _ in etcd} == {settings.LOOPBACK}


def _sockets(table: str, pid: int) -> set[tuple[str, int]]:
    """(address, port) of the sockets of `pid` found in /proc/net/<table> (tcp, udp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = set()
    for suffix in ("", "6"):
        for line in Path(f"/proc/net/{table}{suffix}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                found |= preflight.listeners(f"header\n{fields[0]} {fields[1]} x 0A")
    return found


def test_upstream_dns_listens_on_the_node_address_only(cluster: object) -> None:
    """The Node's DNS server (what CoreDNS forwards to): port 53 of the node address, UDP and
    TCP, nothing else; it answers NXDOMAIN to the host too."""
    pid = supervisor.running(Layout(settings.state_dir()))[upstream_dns.NAME]
    expected = {(settings.node_ip(), upstream_dns.PORT)}
    assert _sockets("udp", pid) == expected
    assert _sockets("tcp", pid) == expected
    with pytest.raises(DnsError) as answer:
        resolve_a(upstream_dns.PROBE_NAME, settings.node_ip())
    assert answer.value.rcode == "NXDOMAIN"


def test_pods_with_the_nodes_resolv_conf_reach_the_upstream_dns(ns: Kube) -> None:
    """A `dnsPolicy: Default` pod (as CoreDNS is) gets the Node's resolv.conf: the upstream on
    the first node's address, which the guard lets pods reach on port 53, from that node and
    across the bridge from the others (the rules themselves are compared in the unit tests),
    and which answers NXDOMAIN. One pod on each node."""
    script = f"cat /etc/resolv.conf; nslookup -type=a {upstream_dns.PROBE_NAME}; true"
    for node in running_nodes():
        name = f"node-dns-{node.index}"
        ns.apply(pod(name, BUSYBOX, ["sh", "-c", script], dnsPolicy="Default", nodeName=node.name))
    for node in running_nodes():
        _check_upstream_answer(ns, f"node-dns-{node.index}")


def _check_upstream_answer(ns: Kube, name: str) -> None:
    assert ns.wait_pod_done(name) == "Succeeded"
    output = ns.run("logs", name)
    nameservers = [line.split()[1] for line in output.splitlines() if line.startswith("nameserver")]
    assert nameservers == [settings.node_ip()], output
    assert f"can't find {upstream_dns.PROBE_NAME}: NXDOMAIN" in output, output


def test_state_directory_is_private(cluster: object) -> None:
    root = settings.state_dir()
    assert root.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("placement", ["first node", "second node"])
def test_pods_reach_the_apiserver_but_no_other_host_service(ns: Kube, placement: str) -> None:
    """A service of the host listening on every address is out of the pods' reach, even
    through the node address, from either node (a pod of the second node reaches the first
    one masqueraded as its node, so the nodes' own rules decide); the apiserver on that
    address is not. Every packet of this test goes to addresses of this machine."""
    spec: dict[str, object] = {}
    name = "probe"
    if placement == "second node":
        others = running_nodes()[1:]
        if not others:
            pytest.skip("the cluster runs a single node")
        spec = {"nodeSelector": {"kubernetes.io/hostname": others[0].name}}
        name = "probe-2"
    node_ip = settings.node_ip()
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        script = (
            f"wget -O /dev/null http://{node_ip}:{settings.APISERVER_PORT}/ 2>&1; "
            f"echo ===; timeout 5 wget -O /dev/null http://{node_ip}:{port}/ 2>&1; "
            "echo exit=$?"
        )
        ns.apply(pod(name, BUSYBOX, ["sh", "-c", script], **spec))
        assert ns.wait_pod_done(name) == "Succeeded"
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing from the pod ever arrived
        # The same port answers the host itself, through the node address.
        with socket.create_connection((node_ip, port), timeout=2):
            pass
    apiserver, host_service = ns.run("logs", name).split("===")
    # Plain HTTP to the apiserver's TLS port: it answered, so the pod got through.
    assert "400 Bad Request" in apiserver, apiserver
    assert "exit=0" not in host_service, host_service
