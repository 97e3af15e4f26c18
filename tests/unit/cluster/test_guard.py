"""The nftables guard, read without a cluster: where it hooks and what it lets through."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tools.cluster.local import guard

NODE_IP = "10.152.182.1"


def test_base_chains_hook_before_the_iptables_filter_table() -> None:
    script = guard.script(NODE_IP)
    for hook in ("forward", "input", "output"):
        assert f"type filter hook {hook} priority -10; policy accept;" in script
    # iptables' filter table (kube-proxy's and Calico's chains) hooks at priority 0.
    assert guard.PRIORITY < 0


def test_the_guard_only_rejects() -> None:
    """An accept ends only this table's base chain; a drop or a reject would end the packet
    for everyone, so the guard's only final word is a reject, and never a drop of traffic it
    does not own."""
    for name, rules in guard.chains(NODE_IP).items():
        for rule in rules:
            assert " drop" not in rule, (name, rule)
        if name.startswith(("pod-", "node-")):
            assert rules[-1].startswith(guard.REJECT), name  # the catch-all comes last


NODES = "10.152.182.0/24"


def test_pods_may_reach_only_pods_services_and_the_nodes() -> None:
    forward = guard.chains(NODE_IP)["pod-forward"]
    accepted = [r.split()[2] for r in forward if " accept " in r]
    assert accepted == ["10.1.0.0/16", "10.152.183.0/24", NODES]
    # Pods are recognised by their interface (Calico's cali…) and by their range; what comes
    # from the nodes' link has its own chain.
    assert guard.chains(NODE_IP)["forward"][1:] == [
        'iifname "cali*" jump pod-forward',
        "ip saddr 10.1.0.0/16 jump pod-forward",
        'iifname "rk8s0" jump node-forward',
    ]


def test_the_nodes_link_carries_only_vxlan_and_ping_between_nodes() -> None:
    """Bridged or routed, a packet from the nodes' link goes back onto it, from a node to a
    node, as VXLAN (UDP 4789) or ICMP: never to another interface (off the machine)."""
    rules = guard.chains(NODE_IP)["node-forward"]
    assert rules[0].startswith("ct state established,related accept")
    between = f'oifname "rk8s0" ip saddr {NODES} ip daddr {NODES}'
    assert rules[1].startswith(f"{between} udp dport 4789 accept")
    assert rules[2].startswith(f"{between} meta l4proto icmp accept")
    assert rules[3].startswith(guard.REJECT) and len(rules) == 4


def test_the_nodes_reach_only_the_apiserver_kubelet_registry_and_vxlan() -> None:
    chains = guard.chains(NODE_IP, registry_port=40123)
    assert f'iifname "rk8s0" ip saddr {NODES} jump node-input' in chains["input"]
    rules = chains["node-input"]
    ports = [r.split("dport ")[1].split()[0] for r in rules if "dport" in r]
    # The upstream DNS (53, UDP and TCP) that every node's resolv.conf names.
    assert ports == ["6443", "10250", "40123", "53", "53", "4789"]
    assert all(f"ip daddr {NODE_IP} " in r for r in rules[1:-1])
    # Another node's table has no registry and no upstream DNS: only the first node runs them.
    other = guard.chains("10.152.182.2")["node-input"]
    assert [r.split("dport ")[1].split()[0] for r in other if "dport" in r] == [
        "6443",
        "10250",
        "4789",
    ]


def test_pods_reach_only_the_apiserver_kubelet_and_upstream_dns_on_the_host() -> None:
    rules = guard.chains(NODE_IP, registry_port=40123)["pod-input"]
    services = [r.split(" accept")[0] for r in rules if "dport" in r]
    assert services == [
        f"ip daddr {NODE_IP} tcp dport 6443",
        f"ip daddr {NODE_IP} tcp dport 10250",
        # CoreDNS's `forward` to the Node's resolv.conf: the local upstream, UDP and TCP.
        f"ip daddr {NODE_IP} udp dport 53",
        f"ip daddr {NODE_IP} tcp dport 53",
    ]
    assert rules[0].startswith("ct state established,related accept")
    # Another node runs no upstream DNS: its pods ask the first node's, across the bridge.
    other = guard.chains("10.152.182.2")["pod-input"]
    assert [r.split("dport ")[1].split()[0] for r in other if "dport" in r] == ["6443", "10250"]


def test_translated_host_traffic_stays_on_the_machine() -> None:
    rules = guard.chains(NODE_IP)["node-dnat"]
    assert [r.split()[2] for r in rules[:-1]] == ["10.1.0.0/16", NODES, "127.0.0.0/8"]
    assert guard.chains(NODE_IP)["output"] == ["ct status dnat jump node-dnat"]


@pytest.mark.skipif(shutil.which("nft") is None or shutil.which("unshare") is None, reason="nft")
def test_nft_accepts_the_script_and_prints_it_back_unchanged() -> None:
    """In a throwaway network namespace (the host's ruleset is not touched)."""
    script = guard.script(NODE_IP, registry_port=40123)
    result = subprocess.run(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"nft -f - && nft list table {guard.FAMILY} {guard.TABLE}",
        ],
        input=script,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("needs root (unshare --net)")
    assert result.returncode == 0, result.stderr
    listed = [line.strip() for line in result.stdout.splitlines()]
    for rules in guard.chains(NODE_IP, registry_port=40123).values():
        for rule in rules:
            assert rule in listed  # what the cluster test compares against the live table
