"""Several nodes on one machine: each Ready at its own address, pods talking across them
through Calico's VXLAN tunnel, each node with its own routes and its own fixed paths.

Every packet of these tests goes between addresses of this machine (pods, nodes)."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time

import pytest

from tests.cluster.kube import Kube, pod
from tests.cluster.nodes import ip_json, run_on, running_nodes
from tools.cluster.local import calico
from tools.cluster.local.settings import Node

pytestmark = pytest.mark.cluster

NETSHOOT = "docker.io/nicolaka/netshoot:latest"


@pytest.fixture(scope="module")
def nodes(cluster: object) -> list[Node]:
    found = running_nodes()
    if len(found) < 2:
        pytest.skip("the cluster runs a single node (up --nodes 1)")
    return found


def _on(node: Node | None, name: str, **spec: object) -> dict:  # type: ignore[type-arg]
    placement = {"nodeSelector": {"kubernetes.io/hostname": node.name}} if node else {}
    manifest = pod(name, NETSHOOT, ["sleep", "3600"], **placement, **spec)
    manifest["spec"]["restartPolicy"] = "Always"
    return manifest


@pytest.fixture(scope="module")
def placed(ns: Kube, nodes: list[Node]) -> dict[str, dict[str, str]]:
    """`ici` on the first node, `voisin` wherever the scheduler puts it, `labas` on the second
    node; name -> {ip, node}."""
    ns.apply(_on(nodes[0], "ici"), _on(None, "voisin"), _on(nodes[1], "labas"))
    ns.run("wait", "--for=condition=Ready", "pod/ici", "pod/voisin", "pod/labas", "--timeout=90s")
    found = {}
    for name in ("ici", "voisin", "labas"):
        item = ns.json("get", "pod", name)
        found[name] = {"ip": item["status"]["podIP"], "node": item["spec"]["nodeName"]}
    return found


def test_every_node_is_ready_at_its_own_address(kube: Kube, nodes: list[Node]) -> None:
    listed = {}
    for item in kube.json("get", "nodes")["items"]:
        addresses = {a["type"]: a["address"] for a in item["status"]["addresses"]}
        ready = [c["status"] for c in item["status"]["conditions"] if c["type"] == "Ready"]
        listed[item["metadata"]["name"]] = (addresses["InternalIP"], ready)
    assert listed == {n.name: (n.ip, ["True"]) for n in nodes}
    assert [n.name for n in nodes[:2]] == ["reseau-k8s", "reseau-k8s-2"]


def test_pods_go_where_they_are_placed(placed: dict[str, dict[str, str]]) -> None:
    """A pod that names no node goes to the first one (the scheduler's preference); one that
    names the second node goes there."""
    assert placed["ici"]["node"] == "reseau-k8s"
    assert placed["voisin"]["node"] == "reseau-k8s"
    assert placed["labas"]["node"] == "reseau-k8s-2"


def _ttl(ns: Kube, source: str, address: str) -> int:
    out = ns.run("exec", source, "--", "ping", "-c", "1", "-W", "5", address)
    match = re.search(r"ttl=(\d+)", out)
    assert match, out
    return int(match[1])


def test_a_pod_pings_a_pod_on_the_other_node(ns: Kube, placed: dict[str, dict[str, str]]) -> None:
    """Across nodes the packet crosses two routers (each node), on the same node one."""
    assert _ttl(ns, "ici", placed["labas"]["ip"]) == 62
    assert _ttl(ns, "labas", placed["ici"]["ip"]) == 62
    assert _ttl(ns, "ici", placed["voisin"]["ip"]) == 63


def test_a_pod_on_the_second_node_resolves_through_coredns(
    ns: Kube, placed: dict[str, dict[str, str]]
) -> None:
    # CoreDNS runs on the first node: the question crosses the tunnel both ways.
    out = ns.run("exec", "labas", "--", "dig", "+short", "kubernetes.default.svc.cluster.local")
    assert out.split() == ["10.152.183.1"]


def test_each_node_routes_the_other_nodes_block_through_vxlan(
    kube: Kube, nodes: list[Node], placed: dict[str, dict[str, str]]
) -> None:
    blocks: dict[str, list[str]] = {}
    for item in kube.json("get", "blockaffinities.crd.projectcalico.org")["items"]:
        blocks.setdefault(item["spec"]["node"], []).append(item["spec"]["cidr"])
    vteps = {}
    for node in nodes:
        (addresses,) = [link["addr_info"] for link in ip_json(node, "addr", "show", "vxlan.calico")]
        vteps[node.name] = addresses[0]["local"]
        assert any(
            ipaddress.ip_address(vteps[node.name]) in ipaddress.ip_network(b)
            for b in blocks[node.name]
        )
    for node in nodes:
        routes = [r for r in ip_json(node, "route", "show") if r.get("dev") == "vxlan.calico"]
        expected = sorted(
            (block, vteps[other.name])
            for other in nodes
            if other != node
            for block in blocks[other.name]
        )
        assert sorted((r["dst"], r["gateway"]) for r in routes) == expected, node.name
        assert all("onlink" in r["flags"] for r in routes), routes
        (link,) = ip_json(node, "-d", "link", "show", "vxlan.calico")
        info = link["linkinfo"]["info_data"]
        assert (info["id"], info["port"], info["local"], link["mtu"]) == (4096, 4789, node.ip, 1450)


def test_the_underlay_carries_the_pods_packet_in_vxlan(
    ns: Kube, nodes: list[Node], placed: dict[str, dict[str, str]]
) -> None:
    """tcpdump on the second node's link, from a hostNetwork pod placed there (as a reader
    would): the outer packet goes between node addresses to UDP 4789, VNI 4096, and carries the
    pods' packet."""
    ns.apply(_on(nodes[1], "noeud-2", hostNetwork=True))
    ns.run("wait", "--for=condition=Ready", "pod/noeud-2", "--timeout=60s")
    capture = subprocess.Popen(
        ns.argv(
            "exec", "noeud-2", "--", "timeout", "30", "tcpdump", "-i", "any", "-nn", "-l",
            "-c", "1", "udp", "port", "4789", "and", "src", "host", nodes[0].ip,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while capture.poll() is None and time.monotonic() < deadline:
            subprocess.run(
                ns.argv("exec", "ici", "--", "ping", "-c", "1", "-W", "1", placed["labas"]["ip"]),
                capture_output=True,
            )
        out = capture.communicate(timeout=10)[0]
    finally:
        if capture.poll() is None:
            capture.kill()
    outer = rf"{re.escape(nodes[0].ip)}\.\d+ > {re.escape(nodes[1].ip)}\.4789: VXLAN, .*vni 4096"
    assert re.search(outer, out), out
    inner = rf"IP {re.escape(placed['ici']['ip'])} > {re.escape(placed['labas']['ip'])}: ICMP"
    assert re.search(inner, out), out


def test_a_node_has_its_own_fixed_paths(nodes: list[Node]) -> None:
    """In the second node's mount namespace: its own Calico state, its own interfaces in
    /sys/class/net with the cgroup hierarchies still there, its own kubelet socket."""
    second = nodes[1]
    assert run_on(second, "cat", "/var/lib/calico/nodename", mounts=True).strip() == second.name
    mtu = run_on(second, "cat", "/var/snap/microk8s/current/var/lib/calico/mtu", mounts=True)
    assert mtu.strip() == "1450"
    interfaces = run_on(second, "ls", "/sys/class/net", mounts=True).split()
    assert {"lo", "rk8s0", "vxlan.calico"} <= set(interfaces)
    assert "eth0" not in interfaces  # the machine's card is not this node's
    cgroup = f"/sys/fs/cgroup/memory/reseau-k8s/{second.name}"
    assert run_on(second, "test", "-d", cgroup, mounts=True) == ""
    socket = "/var/lib/kubelet/device-plugins/kubelet.sock"
    inode = run_on(second, "stat", "-c", "%i", socket, mounts=True).strip()
    assert inode != str(os.stat(socket).st_ino)  # not the first node's kubelet socket


def test_every_calico_node_reports_its_own_node(kube: Kube, nodes: list[Node]) -> None:
    pods = kube.json("get", "pods", "-n", "kube-system", "-l", calico.NODE_LABEL)["items"]
    by_node = {p["spec"]["nodeName"]: p for p in pods}
    for node in nodes:
        assert by_node[node.name]["status"]["podIP"] == node.ip  # hostNetwork
        assert calico.pod_ready(by_node[node.name])
