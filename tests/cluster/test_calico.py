"""Calico runs as on MicroK8s: what a reader sees with kubectl and on the node.

VXLAN device `vxlan.calico` (VNI 4096, UDP 4789, MTU 1450), pool `default-ipv4-ippool`
10.1.0.0/16 with /26 blocks and `vxlanMode: Always`, pods wired with a `cali…` veth, a /32
route each and 169.254.1.1 as their gateway, the CNI configuration MicroK8s writes.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

import pytest

from tests.cluster.kube import Kube, pod
from tools.cluster.local import build, calico, settings

pytestmark = pytest.mark.cluster

BUSYBOX = "docker.io/library/busybox:latest"
RELEASE = build.CALICO_RELEASE


def _ip_json(*args: str) -> list[dict]:  # type: ignore[type-arg]
    out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def test_calico_pods_run_in_kube_system(kube: Kube) -> None:
    def ready(label: str) -> bool:
        pods = kube.json("get", "pods", "-n", "kube-system", "-l", label)["items"]
        return bool(pods) and all(calico.pod_ready(p) for p in pods)

    # `up` waits for calico-node only: the controllers may still be starting.
    kube.wait_for("calico-node Ready", lambda: ready(calico.NODE_LABEL), 60)
    kube.wait_for("calico-kube-controllers Ready", lambda: ready(calico.CONTROLLERS_LABEL), 90)
    pods = kube.json("get", "pods", "-n", "kube-system", "-l", calico.NODE_LABEL)["items"]
    nodes = {n["metadata"]["name"] for n in kube.json("get", "nodes")["items"]}
    # One calico-node per node (a DaemonSet), each in its node's network.
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(nodes)
    for node in pods:
        assert node["metadata"]["name"].startswith("calico-node-")
        assert node["spec"]["hostNetwork"] is True


def test_every_calico_binary_reports_the_release(kube: Kube) -> None:
    name = kube.run(
        "get", "pods", "-n", "kube-system", "-l", calico.NODE_LABEL, "-o", "name"
    ).split()[0]
    version = kube.run(
        "exec", "-n", "kube-system", name, "-c", "calico-node", "--", "calico-node", "-v"
    )
    assert version.strip() == RELEASE


def test_ip_pool_is_microk8s(kube: Kube) -> None:
    pool = kube.json("get", "ippools.crd.projectcalico.org", calico.POOL_NAME)["spec"]
    assert pool["cidr"] == "10.1.0.0/16"
    assert pool["blockSize"] == 26
    assert pool["vxlanMode"] == "Always"
    assert pool["ipipMode"] == "Never"
    assert pool["natOutgoing"] is True  # Calico's default, kept by MicroK8s


def test_config_map_and_backend(kube: Kube) -> None:
    data = kube.json("get", "configmap", "calico-config", "-n", "kube-system")["data"]
    assert data["calico_backend"] == "vxlan"
    assert data["veth_mtu"] == "0"


def test_vxlan_device(cluster: object) -> None:
    (link,) = _ip_json("-d", "link", "show", calico.VXLAN_DEVICE)
    info = link["linkinfo"]["info_data"]
    assert info["id"] == 4096
    assert info["port"] == 4789
    assert link["mtu"] == 1450
    assert info["local"] == settings.node_ip()  # the cluster's own address, never the NIC's
    # Its address is one of the pool's (the VXLAN tunnel address of the node).
    (addresses,) = [a["addr_info"] for a in _ip_json("addr", "show", calico.VXLAN_DEVICE)]
    assert ipaddress.ip_address(addresses[0]["local"]) in ipaddress.ip_network(settings.POD_CIDR)


def test_conflist_is_microk8s(cluster: object) -> None:
    conflist = Path(calico.SNAP_DATA) / "args/cni-network" / calico.CONFLIST
    conf = json.loads(conflist.read_text())
    assert conf["name"] == settings.CNI_NETWORK
    assert [p["type"] for p in conf["plugins"]] == ["calico", "portmap", "bandwidth"]
    plugin = conf["plugins"][0]
    # veth_mtu "0": the plugin takes the MTU Felix detected and wrote for it.
    assert plugin["mtu"] == 0
    assert (Path(calico.SNAP_DATA) / "var/lib/calico/mtu").read_text().strip() == "1450"
    assert plugin["nodename"] == settings.NODE_NAME
    assert plugin["ipam"] == {"assign_ipv4": "true", "type": "calico-ipam"}
    assert Path(plugin["kubernetes"]["kubeconfig"]).is_file()
    # The plugins install-cni copied next to what containerd runs.
    bin_dir = Path(calico.SNAP_DATA) / "opt/cni/bin"
    for plugin_name in ("calico", "calico-ipam", "portmap", "bandwidth", "host-local", "loopback"):
        assert (bin_dir / plugin_name).is_file(), plugin_name


def test_a_pod_is_wired_as_calico_wires_it(ns: Kube) -> None:
    ns.apply(pod("wired", BUSYBOX, ["sleep", "3600"]))
    ns.wait_for(
        "pod wired running",
        lambda: ns.json("get", "pod", "wired")["status"].get("phase") == "Running",
        90,
    )
    address = ns.json("get", "pod", "wired")["status"]["podIP"]
    blocks = ns.json("get", "blockaffinities.crd.projectcalico.org")["items"]
    assert calico.address_in_block(address, blocks, settings.NODE_NAME), (address, blocks)
    inside = ns.run(
        "exec", "wired", "--", "sh", "-c",
        "ip route; cat /sys/class/net/eth0/mtu /sys/class/net/eth0/iflink",
    )  # fmt: skip
    assert "default via 169.254.1.1 dev eth0" in inside, inside
    *_, mtu, iflink = inside.split()
    assert mtu == "1450"  # MicroK8s' usual MTU: 1500 minus the 50 bytes of VXLAN
    peer_index = int(iflink)
    (peer,) = [link for link in _ip_json("link", "show") if link["ifindex"] == peer_index]
    assert peer["ifname"].startswith("cali"), peer
    assert peer["mtu"] == 1450
    routes = _ip_json("route", "show", address)
    assert [(r["dst"], r["dev"]) for r in routes] == [(address, peer["ifname"])]
    ns.run("delete", "pod", "wired", "--wait=false")
